package gns4j.checkpoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** Package-private helpers of the checkpoint package for tests elsewhere. */
public final class CheckpointStoreTestAccess {
    private CheckpointStoreTestAccess() {}

    public static void deleteTree(Path p) {
        try {
            gns4j.Folders.deleteTree(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
