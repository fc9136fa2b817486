package gns4j.train;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.TypeAdapter;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonWriter;

import gns4j.UserError;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;

/**
 * Appends one JSON object per line to a metrics.jsonl. Null values are written as JSON null (a metric that is not
 * available yet keeps its column), and NaN or infinite numbers too, since JSON has no literal for them. Each line
 * goes to the file in one write as soon as it is complete, so a killed run loses at most the line being written;
 * reopening the file (a resumed run) drops such a partial last line before appending.
 *
 * <p>A line that cannot be written (a full disk) is cut off again, so the file keeps whole lines, and held back:
 * {@link #write} then reports false and the trainer stops as on SIGTERM; {@link #flush} tries the held lines again
 * before the final checkpoint, which is only written when they are out (else the last checkpoint is kept, and a
 * resumed run redoes the steps after it).
 */
public final class MetricsWriter implements Closeable {
    private static final TypeAdapter<Number> FINITE_OR_NULL = new TypeAdapter<>() {
        @Override
        public void write(JsonWriter out, Number n) throws IOException {
            if (n == null || !Double.isFinite(n.doubleValue())) out.nullValue();
            else out.value(n);
        }

        @Override
        public Number read(JsonReader in) { throw new UnsupportedOperationException("write-only"); }
    };

    private static final Gson GSON = new GsonBuilder().serializeNulls()
            .registerTypeAdapter(Double.class, FINITE_OR_NULL).registerTypeAdapter(double.class, FINITE_OR_NULL)
            .registerTypeAdapter(Float.class, FINITE_OR_NULL).registerTypeAdapter(float.class, FINITE_OR_NULL)
            .create();

    /** Opens the file for reading and writing: the real disk, or in tests one that fills up. */
    @FunctionalInterface
    public interface Opener {
        FileChannel open(Path file) throws IOException;
    }

    public static final Opener DISK = file -> FileChannel.open(file, CREATE, READ, WRITE);

    private final Path file;
    private final FileChannel channel;
    /** Lines not yet in the file because a write failed, oldest first. */
    private final StringBuilder held = new StringBuilder();
    private IOException failure;

    public MetricsWriter(Path file) throws IOException { this(file, DISK); }

    public MetricsWriter(Path file, Opener opener) throws IOException {
        this.file = file;
        channel = opener.open(file);
        try {
            dropPartialLastLine();
        } catch (IOException e) {
            channel.close();
            throw e;
        }
    }

    /**
     * Writes {@code record} as one line, keys in the map's iteration order.
     *
     * @return false if it (or a line held back before it) could not be written; it is then held back
     */
    public synchronized boolean write(Map<String, ?> record) {
        held.append(GSON.toJson(record)).append('\n');
        return flush();
    }

    /** Writes the lines held back by failed writes; whether none is left. */
    public synchronized boolean flush() {
        if (held.isEmpty()) return true;
        ByteBuffer lines = ByteBuffer.wrap(held.toString().getBytes(StandardCharsets.UTF_8));
        long start;
        try {
            start = channel.position();
        } catch (IOException e) {
            failure = e;
            return false;
        }
        try {
            while (lines.hasRemaining()) channel.write(lines);
            held.setLength(0);
            return true;
        } catch (IOException e) {
            failure = e;
            try {
                channel.truncate(start); // no partial line stays in the file
                channel.position(start);
            } catch (IOException ignored) {
                // a partial last line is dropped when the file is opened again
            }
            return false;
        }
    }

    /**
     * The error that ends a run that could not write a line (even if the line went out later), or null: one line
     * naming the file, the reason, the step the run stopped at and the checkpoint to continue from.
     */
    public synchronized UserError stopError(int step, Path lastCheckpoint, Path runDir) {
        if (failure == null) return null;
        String reason = failure instanceof java.nio.file.FileSystemException fs && fs.getReason() != null ? fs.getReason()
                : String.valueOf(failure.getMessage());
        return new UserError("cannot append to " + file + " (" + reason + "): stopped after step " + step
                + (lastCheckpoint != null ? "; checkpoint " + lastCheckpoint.getFileName() + " is intact; free space and continue with: ./gns4j train --resume " + runDir
                : "; no checkpoint yet, the run must start over"));
    }

    @Override
    public synchronized void close() throws IOException { channel.close(); }

    /** Truncates after the last newline and positions there, so that writes append. */
    private void dropPartialLastLine() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(1);
        long end = channel.size();
        while (end > 0) {
            b.clear();
            channel.read(b, end - 1);
            if (b.get(0) == '\n') break;
            end--;
        }
        channel.truncate(end);
        channel.position(end);
    }
}
