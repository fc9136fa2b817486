package gns4j.model;

/**
 * One parameter tensor inside the flat parameter buffer: {@code [offset, offset + size)}.
 * {@code layer} is the block index, or -1 for tensors outside the blocks. {@code index} is the row of
 * this tensor in the [tensors × B] per-example squared-norm buffer.
 */
public record ParamTensor(int index, String name, ParamKind kind, int layer, int[] shape, int offset, int size) {

    public String shapeString() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < shape.length; i++) sb.append(i == 0 ? "" : "x").append(shape[i]);
        return sb.toString();
    }
}
