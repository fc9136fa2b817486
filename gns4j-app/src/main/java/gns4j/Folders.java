package gns4j;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** Folder chores shared by the commands that write folders: removing a tree, undoing what a failed write created. */
public final class Folders {
    private Folders() {}

    /** Deletes {@code root} and everything below it; nothing when it does not exist. */
    public static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) return;
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    /**
     * A folder about to be made, and the nearest of its ancestors that exists already: what {@link #undo} may remove
     * so that a failed command leaves the file system as it found it.
     */
    public record Created(Path dir, Path existing) {
        /** Taken before {@code dir} (and any missing parents) are created. */
        public static Created before(Path dir) {
            Path existing = dir.toAbsolutePath();
            while (existing != null && !Files.exists(existing)) existing = existing.getParent();
            return new Created(dir, existing);
        }

        /**
         * Best effort: deletes {@code files}, then the folders created below {@code existing}, innermost first; a
         * folder that is not empty or cannot be removed stays (the original failure is what the user needs to see).
         */
        public void undo(List<Path> files) {
            try {
                for (Path f : files) Files.deleteIfExists(f);
                for (Path p = dir.toAbsolutePath(); p != null && !p.equals(existing); p = p.getParent()) Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // see above
            }
        }
    }
}
