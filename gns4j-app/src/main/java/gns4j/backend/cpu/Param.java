package gns4j.backend.cpu;

/**
 * A parameter tensor in backward: its values, its gradient (the same offset of the flat gradient buffer), and where
 * its per-example squared norms go (null: not tracked).
 */
record Param(Mat value, float[] grad, Norms norms) {
    /** Per-example squared norms of one tensor: example b's goes to {@code sq[row·B + b]}, overwriting it. */
    record Norms(double[] sq, int row, int B) {
        void put(int b, double value) { sq[row * B + b] = value; }
    }

    /** Index in {@link #grad} of the gradient's first element. */
    int gradOffset() { return value.offset(); }

    /** The same tensor with its norms not written (for a part of a gradient whose norm is taken elsewhere). */
    Param untracked() { return norms == null ? this : new Param(value, grad, null); }
}
