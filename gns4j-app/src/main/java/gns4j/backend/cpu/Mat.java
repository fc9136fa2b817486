package gns4j.backend.cpu;

import gns4j.model.ParamTensor;

/**
 * A row-major (rows, cols) matrix inside a flat float array, from {@code offset}: element (r, c) is
 * {@code data[offset + r·cols + c]}. What the kernels read and write instead of an array and a run of ints.
 */
record Mat(float[] data, int offset, int rows, int cols) {
    static Mat of(float[] data, int rows, int cols) { return new Mat(data, 0, rows, cols); }

    /** A parameter tensor's values inside the flat buffer: a matrix as stored, a vector as one row; null stays null. */
    static Mat of(float[] buffer, ParamTensor t) {
        if (t == null) return null;
        int[] s = t.shape();
        return s.length == 1 ? new Mat(buffer, t.offset(), 1, s[0]) : new Mat(buffer, t.offset(), s[0], s[1]);
    }

    /** Index in {@link #data} of row r's first element. */
    int row(int r) { return offset + r * cols; }

    int size() { return rows * cols; }
}
