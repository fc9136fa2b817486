package gns4j.data;

import com.google.gson.JsonElement;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import gns4j.IoErrors;
import gns4j.JsonFiles;
import gns4j.UserError;
import java.io.BufferedReader;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.tukaani.xz.XZInputStream;

/**
 * Reads documents from text inputs: {@code .txt} (the whole file is one document) and {@code .jsonl} (one JSON
 * object per line, its {@code "text"} field is one document), each optionally compressed as {@code .gz} or
 * {@code .xz}. Documents are pushed to a {@link Sink} one at a time so a corpus never sits in memory whole.
 */
public final class TextSources {
    static final String SUPPORTED = ".txt or .jsonl, optionally .gz or .xz";

    /** Receives documents in input order; {@code source} names the file they came from. */
    @FunctionalInterface
    public interface Sink {
        void accept(String source, String text);
    }

    private TextSources() {}

    /**
     * Expands inputs into the files to read: folders are walked recursively and their supported files taken in
     * sorted path order (so runs are reproducible); unsupported files in folders are skipped.
     */
    public static List<Path> files(List<Path> inputs) {
        if (inputs.isEmpty()) throw new UserError("no input paths given");
        var files = new ArrayList<Path>();
        for (Path input : inputs) {
            if (Files.isDirectory(input)) {
                try (Stream<Path> walk = Files.walk(input)) {
                    walk.filter(Files::isRegularFile).filter(p -> supported(p.getFileName().toString()))
                            .sorted().forEach(files::add);
                } catch (IOException e) {
                    throw new UserError("cannot list " + input + ": " + e.getMessage(), e);
                }
            } else if (Files.isRegularFile(input)) {
                if (!supported(input.getFileName().toString()))
                    throw new UserError("unsupported input file " + input + " (expected " + SUPPORTED + ")");
                files.add(input);
            } else {
                throw new UserError("input not found: " + input);
            }
        }
        if (files.isEmpty()) throw new UserError("no input files (" + SUPPORTED + ") found in " + inputs);
        return files.stream().distinct().toList();
    }

    /** Reads one file; unreadable or corrupt input becomes a UserError naming the file. */
    public static void read(Path file, Sink sink) {
        try (InputStream in = Files.newInputStream(file)) {
            read(file.toString(), file.getFileName().toString(), in, sink);
        } catch (EOFException e) {
            throw new UserError("cannot read " + file + ": it ends early (truncated or not fully downloaded?)", e);
        } catch (IOException e) {
            throw new UserError("cannot read " + file + ": " + IoErrors.reason(e), e);
        }
    }

    /** Reads a stream whose format is given by {@code fileName}'s extension; {@code source} labels errors. */
    static void read(String source, String fileName, InputStream raw, Sink sink) throws IOException {
        String name = fileName.toLowerCase(Locale.ROOT);
        InputStream in = raw;
        if (name.endsWith(".gz")) {
            in = new GZIPInputStream(raw, 1 << 16);
            name = name.substring(0, name.length() - 3);
        } else if (name.endsWith(".xz")) {
            in = new XZInputStream(raw);
            name = name.substring(0, name.length() - 3);
        }
        if (name.endsWith(".txt")) {
            // new String(...) replaces malformed UTF-8 instead of failing on one bad byte.
            sink.accept(source, new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } else if (name.endsWith(".jsonl")) {
            readJsonLines(source, in, sink);
        } else {
            throw new UserError("unsupported input file " + source + " (expected " + SUPPORTED + ")");
        }
    }

    private static void readJsonLines(String source, InputStream in, Sink sink) throws IOException {
        var reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16);
        int lineNo = 0;
        for (String line; (line = reader.readLine()) != null; ) {
            lineNo++;
            if (line.isBlank()) continue;
            JsonElement text;
            try {
                JsonElement json = JsonParser.parseString(line);
                text = json.isJsonObject() ? json.getAsJsonObject().get("text") : null;
            } catch (JsonParseException | StackOverflowError e) {
                throw new UserError(source + ":" + lineNo + ": invalid JSON" + JsonFiles.describe(e).replaceFirst(" at line \\d+,", " at"), e);
            }
            if (text == null || !text.isJsonPrimitive() || !text.getAsJsonPrimitive().isString())
                throw new UserError(source + ":" + lineNo + ": expected a JSON object with a \"text\" string field");
            sink.accept(source, text.getAsString());
        }
    }

    private static boolean supported(String fileName) {
        String name = fileName.toLowerCase(Locale.ROOT).replaceFirst("\\.(gz|xz)$", "");
        return name.endsWith(".txt") || name.endsWith(".jsonl");
    }
}
