package gns4j.tensorboard;

import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static java.nio.file.StandardOpenOption.CREATE_NEW;
import static java.nio.file.StandardOpenOption.WRITE;

/**
 * A TensorBoard event file, written one step at a time: {@code events.out.tfevents.<unix seconds>.<host>} starting
 * with the file-version event, then one event of scalars per step ({@link TfEvents}, {@link TfRecordWriter}).
 * Each step is flushed, so TensorBoard shows a run while it trains. Also the one mapping of a training step's
 * metrics to scalar tags, shared by the exporter and the trainer.
 */
public final class EventFile implements Closeable {
    /** Event files are named {@code events.out.tfevents.<unix seconds>.<host>}; TensorBoard looks for the prefix. */
    public static final String FILE_PREFIX = "events.out.tfevents.";

    private final Path file;
    private final TfRecordWriter out;
    private int steps, values;

    private EventFile(Path file, TfRecordWriter out) {
        this.file = file;
        this.out = out;
    }

    /** A new event file in {@code dir} (created if needed), its first event written at {@code nowMillis}. */
    public static EventFile create(Path dir, long nowMillis) throws IOException {
        Files.createDirectories(dir);
        Path file = dir.resolve(FILE_PREFIX + nowMillis / 1000 + "." + host());
        TfRecordWriter out = new TfRecordWriter(new BufferedOutputStream(Files.newOutputStream(file, CREATE_NEW, WRITE)));
        EventFile f = new EventFile(file, out);
        out.write(TfEvents.fileVersion(nowMillis / 1e3));
        return f;
    }

    /** One step's scalars at {@code wallTime} (Unix seconds), written through to the file. */
    public void write(long step, double wallTime, Map<String, Float> scalars) throws IOException {
        out.write(TfEvents.scalars(wallTime, step, scalars));
        out.flush();
        steps++;
        values += scalars.size();
    }

    public Path file() { return file; }

    public int steps() { return steps; }

    public int values() { return values; }

    @Override
    public void close() throws IOException { out.close(); }

    /** The event files already in {@code dir}, sorted; none when it does not exist. */
    public static List<Path> existing(Path dir) {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith(FILE_PREFIX)).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * A step's metrics as scalar tags: loss, val_loss, lr, batch_size, tok_per_s, grad_norm, gns_total, gns_ln,
     * gns_type/&lt;type&gt; and gns_layer/&lt;layer&gt;; values that are null are left out.
     */
    public static Map<String, Float> scalars(Double loss, Double valLoss, Double lr, Integer batchSize, Double tokPerS,
                                             Double gradNorm, Double gnsTotal, Double gnsLn, Map<String, Double> gnsType,
                                             Map<String, Double> gnsLayer) {
        Map<String, Float> out = new LinkedHashMap<>();
        put(out, "loss", loss);
        put(out, "val_loss", valLoss);
        put(out, "lr", lr);
        put(out, "batch_size", batchSize);
        put(out, "tok_per_s", tokPerS);
        put(out, "grad_norm", gradNorm);
        put(out, "gns_total", gnsTotal);
        put(out, "gns_ln", gnsLn);
        gnsType.forEach((type, v) -> put(out, "gns_type/" + type, v));
        gnsLayer.forEach((layer, v) -> put(out, "gns_layer/" + layer, v));
        return out;
    }

    private static void put(Map<String, Float> out, String tag, Number v) {
        if (v != null && Double.isFinite(v.doubleValue())) out.put(tag, v.floatValue());
    }

    /** This machine's name as TensorBoard's own writers put it in file names, reduced to safe characters. */
    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName().replaceAll("[^A-Za-z0-9.-]", "_");
        } catch (UnknownHostException e) {
            return "localhost";
        }
    }
}
