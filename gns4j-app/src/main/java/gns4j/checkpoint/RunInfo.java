package gns4j.checkpoint;

import com.google.gson.FieldNamingPolicy;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import gns4j.IoErrors;
import gns4j.JsonFiles;
import gns4j.UserError;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * {@code RUN/run.json}: what a run folder needs besides config.json to be resumed or sampled from: where its data
 * is, which tokenizer made it, and the pretrained weights it started from (with their SHA-256, so a resume that has
 * to start over re-reads the very same weights).
 *
 * @param dataDir        absolute path of the prepared dataset
 * @param tokenizer      the dataset's tokenizer ({@code gpt2}, {@code byte}), null if its meta.json is absent
 * @param initFrom       absolute path of the Hugging Face model.safetensors the run started from, or null
 * @param initFromSha256 its SHA-256, or null
 */
public record RunInfo(int format, String dataDir, String tokenizer, String initFrom, String initFromSha256) {
    public static final String FILE = "run.json";
    public static final int FORMAT = 1;
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeNulls()
            .setFieldNamingPolicy(FieldNamingPolicy.LOWER_CASE_WITH_UNDERSCORES).create();

    public RunInfo(String dataDir, String tokenizer, String initFrom, String initFromSha256) {
        this(FORMAT, dataDir, tokenizer, initFrom, initFromSha256);
    }

    public void write(Path runDir) {
        CheckpointStore.writeAtomically(runDir.resolve(FILE), (GSON.toJson(this) + "\n").getBytes(StandardCharsets.UTF_8));
    }

    /** Reads RUN/run.json; a clear error if the folder is no resumable run. */
    public static RunInfo read(Path runDir) {
        Path file = runDir.resolve(FILE);
        try {
            RunInfo info = GSON.fromJson(Files.readString(file, StandardCharsets.UTF_8), RunInfo.class);
            if (info == null || info.dataDir() == null) throw new UserError(file + " lacks \"data_dir\"");
            return info;
        } catch (NoSuchFileException e) {
            if (!Files.isDirectory(runDir)) throw new UserError("run folder not found: " + runDir);
            throw new UserError(runDir + " is not a resumable run folder (no " + FILE + "; made by an older gns4j or not by train)");
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new UserError(file + " is not a valid run record (not UTF-8 text)", e);
        } catch (IOException e) {
            throw new UserError("cannot read " + file + ": " + IoErrors.reason(e), e);
        } catch (JsonParseException | StackOverflowError e) {
            throw new UserError(file + " is not a valid run record" + JsonFiles.describe(e), e);
        }
    }
}
