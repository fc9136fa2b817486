package gns4j.checkpoint;

import com.google.gson.JsonParseException;
import gns4j.Folders;
import gns4j.IoErrors;
import gns4j.UserError;
import gns4j.model.ParamTensor;
import gns4j.model.ParameterLayout;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The checkpoints of one run: {@code RUN/checkpoints/step-000123/} folders holding
 * <ul>
 *   <li>{@code model.safetensors} and {@code config.json}: the weights in Hugging Face GPT-2 (or Llama) form (the
 *       folder is a model transformers can load with {@code GPT2LMHeadModel} or {@code LlamaForCausalLM});</li>
 *   <li>{@code optimizer.safetensors}: AdamW's m and v per tensor ({@code m.NAME}, {@code v.NAME}, our layout);</li>
 *   <li>{@code state.json}: {@link TrainingState};</li>
 *   <li>{@code checksums.sha256}: SHA-256 of the four files above, in {@code sha256sum} format, verified on load.</li>
 * </ul>
 * A checkpoint is written into a hidden temporary folder, every file fsynced, then renamed into place, so a
 * {@code step-*} folder is always complete; a crash or a full disk mid-write leaves the previous ones untouched
 * (the temporary folder is removed, or cleaned up by the next run that holds the lock). After each write only the
 * newest {@code keep} checkpoints stay.
 */
public final class CheckpointStore {
    public static final String DIR = "checkpoints";
    public static final String OPTIMIZER_FILE = "optimizer.safetensors", STATE_FILE = "state.json",
            CHECKSUM_FILE = "checksums.sha256";
    static final List<String> FILES = List.of(HfGpt2.MODEL_FILE, HfGpt2.CONFIG_FILE, OPTIMIZER_FILE, STATE_FILE);
    private static final Pattern STEP_DIR = Pattern.compile("step-(\\d{6,10})");
    private static final String TMP_PREFIX = ".tmp-";

    /** Creates each checkpoint file; the stream must make its bytes durable (fsync) before close returns. */
    @FunctionalInterface
    public interface FileSink {
        OutputStream create(Path file) throws IOException;
    }

    /** The real disk: a new file, fsynced on close. */
    public static final FileSink DISK = file -> {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        return new FilterOutputStream(new java.io.BufferedOutputStream(Channels.newOutputStream(ch), 1 << 20)) {
            @Override public void write(byte[] b, int off, int len) throws IOException { out.write(b, off, len); }

            @Override
            public void close() throws IOException {
                if (!ch.isOpen()) return;
                try (ch) {
                    out.flush();
                    ch.force(true);
                }
            }
        };
    };

    private final Path runDir, dir;
    private final int keep;
    private final FileSink sink;
    /** The step folders this store wrote: the only ones it may replace (a step written again after a stop). */
    private final Set<Path> written = new HashSet<>();

    public CheckpointStore(Path runDir, int keep, FileSink sink) {
        if (keep < 1) throw new IllegalArgumentException("keep must be >= 1");
        this.runDir = runDir;
        this.dir = runDir.resolve(DIR);
        this.keep = keep;
        this.sink = sink;
    }

    public static String dirName(int step) { return String.format("step-%06d", step); }

    /** The run folder whose checkpoints this store keeps. */
    public Path runDir() { return runDir; }

    /** Complete checkpoint folders of {@code runDir}, oldest first. */
    public static List<Path> list(Path runDir) {
        Path dir = runDir.resolve(DIR);
        if (!Files.isDirectory(dir)) return List.of();
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) if (Files.isDirectory(p) && STEP_DIR.matcher(p.getFileName().toString()).matches()) out.add(p);
        } catch (IOException e) {
            throw new UserError("cannot list " + dir + ": " + IoErrors.reason(e), e);
        }
        out.sort(Comparator.comparingLong(CheckpointStore::stepOf));
        return out;
    }

    static long stepOf(Path checkpoint) {
        Matcher m = STEP_DIR.matcher(checkpoint.getFileName().toString());
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    /** The newest complete checkpoint, or null. */
    public static Path latest(Path runDir) {
        List<Path> all = list(runDir);
        return all.isEmpty() ? null : all.getLast();
    }

    /** Removes temporary folders that a killed writer left behind (call only while holding the run lock). */
    public void removeTemporary() {
        if (!Files.isDirectory(dir)) return;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, TMP_PREFIX + "*")) {
            for (Path p : ds) Folders.deleteTree(p);
        } catch (IOException e) {
            // harmless: a stale temporary folder is never mistaken for a checkpoint
        }
    }

    /**
     * Writes a checkpoint of the given state atomically and prunes old ones.
     *
     * @return the new checkpoint folder
     * @throws UserError if it cannot be written (e.g. the disk is full); earlier checkpoints are then untouched
     */
    public Path write(ParameterLayout layout, float[] params, float[] m, float[] v, TrainingState state) {
        String name = dirName(state.step());
        Path tmp = dir.resolve(TMP_PREFIX + name + "-" + ProcessHandle.current().pid());
        Path target = dir.resolve(name);
        if (Files.exists(target) && !written.contains(target))
            throw new UserError("checkpoint folder " + target + " exists already and this run did not write it; it is"
                    + " left as it is and no checkpoint of step " + state.step() + " was written");
        try {
            Files.createDirectories(dir);
            if (Files.exists(tmp)) Folders.deleteTree(tmp);
            Files.createDirectory(tmp);
            Map<String, String> sums = new LinkedHashMap<>();
            sums.put(HfGpt2.MODEL_FILE, writeFile(tmp.resolve(HfGpt2.MODEL_FILE),
                    out -> SafeTensors.write(out, HfGpt2.toHf(layout, params), Map.of("format", "pt"))));
            sums.put(HfGpt2.CONFIG_FILE, writeFile(tmp.resolve(HfGpt2.CONFIG_FILE),
                    out -> out.write(HfGpt2.configJson(layout.config).getBytes(StandardCharsets.UTF_8))));
            sums.put(OPTIMIZER_FILE, writeFile(tmp.resolve(OPTIMIZER_FILE),
                    out -> SafeTensors.write(out, moments(layout, m, v), Map.of("format", "pt", "content", "adamw m and v"))));
            sums.put(STATE_FILE, writeFile(tmp.resolve(STATE_FILE), out -> out.write(state.toJson().getBytes(StandardCharsets.UTF_8))));
            StringBuilder text = new StringBuilder();
            sums.forEach((f, h) -> text.append(h).append("  ").append(f).append('\n'));
            writeFile(tmp.resolve(CHECKSUM_FILE), out -> out.write(text.toString().getBytes(StandardCharsets.UTF_8)));
            syncDir(tmp);
            if (Files.exists(target)) { // a folder of this step that this run wrote before: replace it
                Path old = dir.resolve(TMP_PREFIX + "old-" + name + "-" + ProcessHandle.current().pid());
                Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                Folders.deleteTree(old);
            } else Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            syncDir(dir);
            written.add(target);
        } catch (IOException | UncheckedIOException e) {
            try {
                Folders.deleteTree(tmp);
            } catch (IOException ignored) {
                // the next run holding the lock removes it
            }
            Path previous = latest(runDir);
            Throwable cause = e instanceof UncheckedIOException u ? u.getCause() : e;
            String reason = cause.getMessage() != null ? cause.getMessage() : cause.toString();
            if (cause instanceof java.nio.file.FileSystemException fs && fs.getReason() != null) reason = fs.getReason();
            throw new UserError("cannot write checkpoint " + target + ": " + reason
                    + (previous != null ? "; the previous checkpoint " + previous.getFileName() + " is intact" : ""), e);
        }
        prune();
        return target;
    }

    private static List<SafeTensors.Tensor> moments(ParameterLayout layout, float[] m, float[] v) {
        List<SafeTensors.Tensor> out = new ArrayList<>();
        for (ParamTensor t : layout.tensors) out.add(new SafeTensors.Tensor("m." + t.name(), t.shape().clone(), m, t.offset()));
        for (ParamTensor t : layout.tensors) out.add(new SafeTensors.Tensor("v." + t.name(), t.shape().clone(), v, t.offset()));
        return out;
    }

    private interface Body { void write(OutputStream out) throws IOException; }

    /** Writes one file through the sink and returns its SHA-256 (hex). */
    private String writeFile(Path file, Body body) throws IOException {
        MessageDigest sha = sha256();
        try (OutputStream raw = sink.create(file); DigestOutputStream out = new DigestOutputStream(raw, sha)) {
            body.write(out);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private void prune() {
        List<Path> all = list(runDir);
        for (int i = 0; i < all.size() - keep; i++) {
            try {
                Folders.deleteTree(all.get(i));
            } catch (IOException e) {
                // an old checkpoint that cannot be deleted does no harm
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ loading

    /** A verified checkpoint: its folder and state; weights and moments are read on demand. */
    public record Checkpoint(Path dir, TrainingState state) {
        /** The weights in our flat layout. */
        public float[] params(ParameterLayout layout) {
            float[] params = new float[layout.totalSize];
            Path f = dir.resolve(HfGpt2.MODEL_FILE);
            HfGpt2.fromHf(layout, HfGpt2.readFor(layout, f), params, f.toString());
            return params;
        }

        /** AdamW's moments in our flat layout, into m and v. */
        public void moments(ParameterLayout layout, float[] m, float[] v) {
            Path f = dir.resolve(OPTIMIZER_FILE);
            Set<String> used = new HashSet<>();
            for (ParamTensor t : layout.tensors) used.addAll(List.of("m." + t.name(), "v." + t.name()));
            Map<String, SafeTensors.Tensor> all = SafeTensors.read(f, used::contains).tensors();
            for (ParamTensor t : layout.tensors) {
                copy(all, "m." + t.name(), t, m, f);
                copy(all, "v." + t.name(), t, v, f);
            }
        }

        private static void copy(Map<String, SafeTensors.Tensor> all, String name, ParamTensor t, float[] dst, Path f) {
            SafeTensors.Tensor src = all.get(name);
            if (src == null) throw new UserError(f + ": no tensor " + name);
            if (!Arrays.equals(src.shape(), t.shape()))
                throw new UserError(f + ": tensor " + name + " has shape " + Arrays.toString(src.shape())
                        + ", the model needs " + Arrays.toString(t.shape()));
            System.arraycopy(src.data(), src.offset(), dst, t.offset(), t.size());
        }
    }

    /**
     * Verifies a checkpoint folder (every checksum, the state file) without changing anything.
     *
     * @throws UserError one line naming the folder and the damage
     */
    public static Checkpoint load(Path checkpoint) {
        Path sumsFile = checkpoint.resolve(CHECKSUM_FILE);
        Map<String, String> sums = new LinkedHashMap<>();
        try {
            for (String line : Files.readAllLines(sumsFile, StandardCharsets.UTF_8)) {
                if (line.isBlank()) continue;
                String[] parts = line.trim().split("\\s+\\*?", 2);
                if (parts.length != 2 || !parts[0].matches("[0-9a-f]{64}")) throw damaged(checkpoint, CHECKSUM_FILE + " is corrupted");
                sums.put(parts[1], parts[0]);
            }
        } catch (java.nio.file.NoSuchFileException e) {
            throw damaged(checkpoint, "no " + CHECKSUM_FILE);
        } catch (CharacterCodingException e) {
            throw damaged(checkpoint, CHECKSUM_FILE + " is corrupted (not text)");
        } catch (IOException e) {
            throw damaged(checkpoint, "cannot read " + CHECKSUM_FILE + " (" + IoErrors.reason(e) + ")");
        }
        for (String f : FILES) {
            String want = sums.get(f);
            if (want == null) throw damaged(checkpoint, CHECKSUM_FILE + " does not list " + f);
            Path file = checkpoint.resolve(f);
            if (!Files.isRegularFile(file)) throw damaged(checkpoint, f + " is missing");
            String got = sha256(file);
            if (!got.equals(want)) throw damaged(checkpoint, "SHA-256 of " + f + " does not match (truncated or modified)");
        }
        TrainingState state;
        try {
            state = TrainingState.fromJson(Files.readString(checkpoint.resolve(STATE_FILE)));
        } catch (IOException e) {
            throw damaged(checkpoint, "cannot read " + STATE_FILE + " (" + IoErrors.reason(e) + ")");
        } catch (JsonParseException e) {
            throw damaged(checkpoint, STATE_FILE + " is unreadable: " + e.getMessage().replaceAll("\\s+", " "));
        }
        if (stepOf(checkpoint) >= 0 && stepOf(checkpoint) != state.step())
            throw damaged(checkpoint, STATE_FILE + " is for step " + state.step());
        return new Checkpoint(checkpoint, state);
    }

    private static UserError damaged(Path checkpoint, String what) {
        return new UserError("checkpoint " + checkpoint + " is damaged: " + what);
    }

    /** SHA-256 of a file, hex. */
    public static String sha256(Path file) {
        MessageDigest sha = sha256();
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buf)) > 0; ) sha.update(buf, 0, n);
        } catch (IOException e) {
            throw new UserError("cannot read " + file + ": " + IoErrors.reason(e), e);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ------------------------------------------------------------------------------------------------ files

    /** fsync of a directory, so that a rename in it survives a crash (a no-op where the OS refuses). */
    static void syncDir(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // not supported on this platform or file system
        }
    }

    /**
     * Replaces {@code file} with {@code bytes} atomically: a temporary file beside it, fsynced, renamed over it.
     */
    public static void writeAtomically(Path file, byte[] bytes) {
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp-" + ProcessHandle.current().pid());
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                var buf = java.nio.ByteBuffer.wrap(bytes);
                while (buf.hasRemaining()) ch.write(buf);
                ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            syncDir(file.toAbsolutePath().getParent());
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // best effort
            }
            throw new UserError("cannot write " + file + ": " + IoErrors.reason(e), e);
        }
    }
}
