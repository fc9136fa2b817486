package gns4j.train;

import gns4j.Folders;
import gns4j.IoErrors;
import gns4j.UserError;
import gns4j.tensorboard.EventFile;

import java.io.IOException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;

/**
 * The TensorBoard event file of a run (tensorboard_dir), opened before the run folder is made so that a folder it
 * cannot write is refused first; {@link #remove} takes it back, with the folders it made, when the run is refused
 * after all.
 *
 * @param events  the open event file, or null without tensorboard_dir
 * @param created the folder it is in, as it was before the file was made
 */
record TensorBoardOutput(EventFile events, Folders.Created created) implements AutoCloseable {
    static final TensorBoardOutput NONE = new TensorBoardOutput(null, null);

    /** A new event file in {@code dir}; {@link #NONE} for a blank dir. */
    static TensorBoardOutput open(String dir) {
        if (dir.isBlank()) return NONE;
        Path path;
        try {
            path = Path.of(dir);
        } catch (InvalidPathException e) {
            throw new UserError("config key tensorboard_dir: '" + dir + "' is not a path");
        }
        Folders.Created created = Folders.Created.before(path);
        try {
            return new TensorBoardOutput(EventFile.create(path, System.currentTimeMillis()), created);
        } catch (IOException e) {
            created.undo(List.of());
            throw new UserError("cannot write the TensorBoard event file in " + dir + ": " + IoErrors.reason(e)
                    + "; choose another tensorboard_dir", e);
        }
    }

    /** Closes and deletes the event file and the folders made for it. */
    void remove() {
        if (events == null) return;
        close();
        created.undo(List.of(events.file()));
    }

    @Override
    public void close() {
        if (events == null) return;
        try {
            events.close();
        } catch (IOException e) {
            // every step was written through; a failed close loses nothing
        }
    }
}
