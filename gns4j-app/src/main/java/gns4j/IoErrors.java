package gns4j;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;

/** The reason of an I/O failure in words a user can act on, for one-line messages. */
public final class IoErrors {
    private IoErrors() {}

    /**
     * "No space left on device", "Read-only file system", "permission denied", ...: the operating system's reason
     * without the path (the caller names the file), or the exception's message.
     */
    public static String reason(IOException e) {
        if (e instanceof AccessDeniedException) return "permission denied";
        if (e instanceof NoSuchFileException) return "no such file or folder";
        if (e instanceof DirectoryNotEmptyException) return "a folder that is not empty is in the way";
        if (e instanceof FileSystemException fs && fs.getReason() != null) return fs.getReason();
        if (e.getMessage() != null) return e.getMessage();
        return e.getClass().getSimpleName();
    }
}
