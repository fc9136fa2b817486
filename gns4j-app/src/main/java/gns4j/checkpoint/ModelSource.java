package gns4j.checkpoint;

import com.google.gson.JsonObject;
import gns4j.UserError;
import gns4j.model.ModelConfig;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A model to load for inference: a run folder (its newest checkpoint), one checkpoint folder, or a Hugging Face
 * GPT-2 or Llama folder (model.safetensors + config.json). Our checkpoints are such folders too; their checksums are
 * verified first, and their run's tokenizer is known.
 *
 * @param weights    the model.safetensors
 * @param config     the model shape
 * @param tokenizer  the tokenizer name the run recorded, or null (unknown: a plain HF folder)
 * @param checkpoint the checkpoint folder, or null for an HF folder
 * @param trainConfig the config the checkpoint was trained with (TrainConfig JSON), or null for an HF folder
 */
public record ModelSource(Path weights, ModelConfig config, String tokenizer, Path checkpoint, JsonObject trainConfig) {

    public static ModelSource open(Path path) {
        if (!Files.exists(path)) throw new UserError("not found: " + path);
        if (Files.isRegularFile(path) && !path.getFileName().toString().endsWith(".safetensors"))
            throw new UserError(path + " is not a model: give a run folder, a checkpoint folder, a Hugging Face GPT-2 or"
                    + " Llama folder or a .safetensors file");
        Path dir = Files.isDirectory(path) ? path : path.toAbsolutePath().getParent();
        Path runDir = null, checkpoint = null;
        if (Files.isRegularFile(dir.resolve(RunInfo.FILE)) || Files.isDirectory(dir.resolve(CheckpointStore.DIR))) {
            runDir = dir;
            checkpoint = CheckpointStore.latest(dir);
            if (checkpoint == null) throw new UserError("run folder " + dir + " has no checkpoint yet");
        } else if (Files.isRegularFile(dir.resolve(CheckpointStore.STATE_FILE))) {
            checkpoint = dir;
            Path parent = dir.toAbsolutePath().getParent();
            if (parent != null && parent.getFileName() != null && parent.getFileName().toString().equals(CheckpointStore.DIR))
                runDir = parent.getParent();
        }
        String tokenizer = null;
        JsonObject trainConfig = null;
        if (checkpoint != null) {
            trainConfig = CheckpointStore.load(checkpoint).state().config(); // verifies every checksum
            dir = checkpoint;
            if (runDir != null && Files.isRegularFile(runDir.resolve(RunInfo.FILE))) tokenizer = RunInfo.read(runDir).tokenizer();
        }
        HfGpt2.Pretrained hf = HfGpt2.open(checkpoint == null && Files.isRegularFile(path) ? path : dir);
        return new ModelSource(hf.weights(), hf.config(), tokenizer, checkpoint, trainConfig);
    }

    /** Whether {@code path} is something {@link #open} reads: a .safetensors file, or a run, checkpoint or HF folder. */
    public static boolean recognises(Path path) {
        if (Files.isRegularFile(path)) return path.getFileName().toString().endsWith(".safetensors");
        return Files.isDirectory(path) && (Files.isDirectory(path.resolve(CheckpointStore.DIR))
                || Files.isRegularFile(path.resolve(RunInfo.FILE)) || Files.isRegularFile(path.resolve(CheckpointStore.STATE_FILE))
                || Files.isRegularFile(path.resolve(HfGpt2.MODEL_FILE)));
    }

    /** The weights in our flat layout. */
    public float[] params() { return new HfGpt2.Pretrained(weights, config).params(config); }
}
