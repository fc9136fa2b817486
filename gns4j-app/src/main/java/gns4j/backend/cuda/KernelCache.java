package gns4j.backend.cuda;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Supplier;

/**
 * Compiled kernels on disk under ~/.cache/gns4j (or -Dgns4j.cacheDir), one CUBIN per (source, options, architecture),
 * named by a SHA-256 of all three so a changed kernel or flag never reuses stale code.
 */
final class KernelCache {
    private KernelCache() {}

    static Path dir() {
        String custom = System.getProperty("gns4j.cacheDir");
        return custom != null ? Path.of(custom) : Path.of(System.getProperty("user.home"), ".cache", "gns4j");
    }

    /** "sm_90-3f2a…" (arch, then 32 hex digits of the hash). */
    static String key(String source, List<String> options, String arch) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(source.getBytes(StandardCharsets.UTF_8));
            for (String o : options) sha.update(("\0" + o).getBytes(StandardCharsets.UTF_8));
            sha.update(("\0\0" + arch).getBytes(StandardCharsets.UTF_8));
            return arch + "-" + HexFormat.of().formatHex(sha.digest(), 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The cached CUBIN for this key, or compile() stored atomically (a cache that cannot be written is skipped). */
    static byte[] getOrCompile(Path dir, String key, Supplier<byte[]> compile) {
        Path file = dir.resolve(key + ".cubin");
        try {
            if (Files.isRegularFile(file)) return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read cached kernels " + file, e);
        }
        byte[] cubin = compile.get();
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, key, ".tmp");
            Files.write(tmp, cubin);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | UnsupportedOperationException ignored) {
            // read-only home: compile again next time
        }
        return cubin;
    }
}
