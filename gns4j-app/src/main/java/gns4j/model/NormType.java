package gns4j.model;

/** Normalisation layer used in every block and before the head. */
public enum NormType {
    LAYERNORM, RMSNORM;

    public static NormType parse(String s) {
        return switch (s.toLowerCase()) {
            case "layernorm", "ln" -> LAYERNORM;
            case "rmsnorm", "rms" -> RMSNORM;
            default -> throw new IllegalArgumentException("norm must be layernorm or rmsnorm, got '" + s + "'");
        };
    }
}
