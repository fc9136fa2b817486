package gns4j.train;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.TypeAdapter;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonWriter;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
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

    private final FileChannel channel;

    public MetricsWriter(Path file) throws IOException {
        channel = FileChannel.open(file, CREATE, READ, WRITE);
        try {
            dropPartialLastLine();
        } catch (IOException e) {
            channel.close();
            throw e;
        }
    }

    /** Writes {@code record} as one line, keys in the map's iteration order. */
    public synchronized void write(Map<String, ?> record) {
        ByteBuffer line = ByteBuffer.wrap((GSON.toJson(record) + "\n").getBytes(StandardCharsets.UTF_8));
        try {
            while (line.hasRemaining()) channel.write(line);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write metrics: " + e.getMessage(), e);
        }
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
