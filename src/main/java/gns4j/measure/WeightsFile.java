package gns4j.measure;

import gns4j.UserError;
import gns4j.backend.Backend;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The interim weights file that {@code gns4j measure --init-from RUN_DIR} reads until real checkpoints exist:
 * {@code RUN_DIR/weights.f32} holds every parameter as a little-endian IEEE float32, in the order of
 * {@link gns4j.model.ParameterLayout} (tensor after tensor, each row-major, Linear weights [out, in] as in PyTorch;
 * a tied head stored once as the token embedding), nothing else; {@code RUN_DIR/config.json} (as {@code gns4j
 * train} writes it) gives the shape. A Java program can write one with {@link #save}.
 */
public final class WeightsFile {
    /** File name inside a run folder. */
    public static final String NAME = "weights.f32";

    private WeightsFile() {}

    /** Writes the backend's parameters to {@code file} (atomically: temp file, then rename). */
    public static void save(Backend backend, Path file) throws IOException {
        float[] params = new float[backend.layout().totalSize];
        backend.readParams(params);
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
            for (float p : params) {
                if (!buf.hasRemaining()) write(ch, buf);
                buf.putFloat(p);
            }
            write(ch, buf);
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static void write(FileChannel ch, ByteBuffer buf) throws IOException {
        buf.flip();
        while (buf.hasRemaining()) ch.write(buf);
        buf.clear();
    }

    /** Loads {@code file} into the backend; a size that does not match the backend's model is a UserError. */
    public static void load(Path file, Backend backend) {
        int n = backend.layout().totalSize;
        try (FileChannel ch = FileChannel.open(file)) {
            long bytes = ch.size();
            if (bytes != 4L * n)
                throw new UserError(file + " holds " + bytes + " bytes but the configured model has " + n
                        + " parameters (" + 4L * n + " bytes): config and weights do not match");
            float[] params = new float[n];
            ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
            int done = 0;
            while (done < n) {
                buf.clear().limit((int) Math.min(buf.capacity(), 4L * (n - done)));
                while (buf.hasRemaining()) if (ch.read(buf) < 0) throw new UserError(file + " is truncated");
                buf.flip();
                int k = buf.remaining() / 4;
                buf.asFloatBuffer().get(params, done, k);
                done += k;
            }
            for (int i = 0; i < n; i++)
                if (!Float.isFinite(params[i]))
                    throw new UserError(file + " holds a non-finite parameter at index " + i);
            backend.writeParams(params);
        } catch (IOException e) {
            throw new UserError("cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}
