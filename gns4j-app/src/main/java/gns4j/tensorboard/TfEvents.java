package gns4j.tensorboard;

import java.util.Map;

/**
 * TensorBoard's event messages, encoded by hand (no protobuf library): {@code Event} with wall_time (double, field 1),
 * step (int64, field 2), file_version (string, field 3) and summary (field 5); {@code Summary} with repeated
 * {@code Value} (field 1), each a tag (string, field 1) and a simple_value (float, field 2), the form TensorBoard
 * shows as a scalar chart.
 */
final class TfEvents {
    /** The file_version of an event file's first record; TensorBoard reads files that start with it. */
    static final String FILE_VERSION = "brain.Event:2";

    private static final int WALL_TIME = 1, STEP = 2, FILE_VERSION_FIELD = 3, SUMMARY = 5;
    private static final int SUMMARY_VALUE = 1, VALUE_TAG = 1, VALUE_SIMPLE = 2;

    private TfEvents() {}

    /** The first event of a file: the format version, no step. */
    static byte[] fileVersion(double wallTime) {
        return new ProtoWriter().float64(WALL_TIME, wallTime).string(FILE_VERSION_FIELD, FILE_VERSION).toByteArray();
    }

    /** One step's scalars as one event, in the map's order. */
    static byte[] scalars(double wallTime, long step, Map<String, Float> values) {
        ProtoWriter summary = new ProtoWriter();
        values.forEach((tag, value) ->
                summary.message(SUMMARY_VALUE, new ProtoWriter().string(VALUE_TAG, tag).float32(VALUE_SIMPLE, value)));
        return new ProtoWriter().float64(WALL_TIME, wallTime).int64(STEP, step).message(SUMMARY, summary).toByteArray();
    }
}
