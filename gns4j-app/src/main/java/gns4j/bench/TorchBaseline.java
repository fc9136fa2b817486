package gns4j.bench;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the PyTorch scripts (scripts/torch_baseline.py, scripts/torch_kernels.py) in the same process tree as our
 * measurement, when python3 can import torch. Each prints one JSON object per result line on stdout.
 */
final class TorchBaseline {
    static final Path SCRIPT = Path.of("scripts", "torch_baseline.py"), KERNELS = Path.of("scripts", "torch_kernels.py");

    private TorchBaseline() {}

    /** Why the baseline cannot run here, or null when it can. */
    static String unavailable() { return unavailable(SCRIPT); }

    /** Why script cannot run here, or null when it can. */
    static String unavailable(Path script) {
        if (!Files.exists(script)) return "no " + script + " (run from the repository root)";
        try {
            Process p = new ProcessBuilder("python3", "-c", "import torch").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0 ? null : "python3 cannot import torch";
        } catch (Exception e) {
            return "no python3 (" + e.getMessage() + ")";
        }
    }

    /** mode → tok/s median (Double) or error (String). */
    static Map<String, Object> run(List<String> args) throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        for (JsonObject o : results(SCRIPT, args)) {
            String mode = o.get("mode").getAsString();
            out.put(mode, o.has("error") ? o.get("error").getAsString() : (Object) o.get("tok_per_s_median").getAsDouble());
        }
        return out;
    }

    /** The JSON lines script prints on stdout (stderr passes through). */
    static List<JsonObject> results(Path script, List<String> args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("python3", script.toString()));
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        List<JsonObject> out = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; )
                if (line.startsWith("{")) out.add(JsonParser.parseString(line).getAsJsonObject());
        }
        p.waitFor();
        return out;
    }
}
