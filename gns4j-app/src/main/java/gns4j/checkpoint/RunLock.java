package gns4j.checkpoint;

import gns4j.UserError;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * The run folder's lock: {@code RUN/lock}, locked with {@link FileChannel#tryLock()} for as long as a run writes
 * the folder, holding the pid of its owner. The operating system drops the lock when the process dies, however it
 * dies (SIGKILL included), so a stale file never blocks a later run; a second run while the first is alive is
 * refused. A run that ends normally removes the file it owned or created, while still holding its lock; a process
 * that opened the file just before and locks it just after then holds a lock on a removed file, which it notices
 * (the path no longer leads to the file it locked) and tries again.
 *
 * <p>A resumed run locks first ({@link #acquireOnly}) and records its pid ({@link #recordOwner}) only once its
 * checkpoint and inputs are accepted, so a refused resume changes no byte of the folder.
 */
public final class RunLock implements AutoCloseable {
    public static final String FILE = "lock";

    private final Path file;
    private final FileChannel channel;
    private final FileLock lock;
    /** Whether this lock made the file, or wrote its pid into it: then the folder had no say in it and it goes. */
    private boolean removeOnClose;

    private RunLock(Path file, FileChannel channel, FileLock lock, boolean created) {
        this.file = file;
        this.channel = channel;
        this.lock = lock;
        this.removeOnClose = created;
    }

    /**
     * Locks {@code runDir} (which must exist) and records this process as its owner.
     *
     * @throws UserError if another process (or another run in this one) holds it
     */
    public static RunLock acquire(Path runDir) {
        RunLock lock = acquireOnly(runDir);
        lock.recordOwner();
        return lock;
    }

    /** Locks {@code runDir} like {@link #acquire} but leaves the file's content (the last owner's pid) as it is. */
    public static RunLock acquireOnly(Path runDir) {
        Path file = runDir.resolve(FILE);
        while (true) {
            RunLock lock = tryAcquire(runDir, file);
            if (lock != null) return lock;
        }
    }

    /** The lock, or null when the file it locked was removed meanwhile by the run that ended (then try again). */
    private static RunLock tryAcquire(Path runDir, Path file) {
        FileChannel ch;
        boolean created;
        Object opened;
        try {
            created = !Files.exists(file);
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            opened = identity(file);
        } catch (IOException e) {
            throw new UserError("cannot create the lock file " + file + ": " + e.getMessage(), e);
        }
        FileLock lock = null;
        try {
            try {
                lock = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null; // held by this JVM
            }
            if (lock == null) {
                String owner = owner(file);
                ch.close();
                throw new UserError("run folder " + runDir + " is in use by another gns4j run"
                        + (owner.isEmpty() ? "" : " (pid " + owner + ")") + "; wait for it to end or choose another --out-dir");
            }
            if (opened == null || !opened.equals(identity(file))) {
                ch.close(); // a removed file's lock guards nothing
                return null;
            }
            return new RunLock(file, ch, lock, created);
        } catch (IOException e) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // closing drops the lock anyway
            }
            throw new UserError("cannot lock " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * The identity of the file at {@code file}: its key (device and inode) where the platform gives one, else only
     * that it exists; null when there is none.
     */
    private static Object identity(Path file) throws IOException {
        try {
            Object key = Files.readAttributes(file, BasicFileAttributes.class).fileKey();
            return key != null ? key : Boolean.TRUE;
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /** Writes this process's pid into the lock file, for the message of a run refused meanwhile. */
    public void recordOwner() {
        try {
            channel.truncate(0);
            channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8)), 0);
            channel.force(false);
            removeOnClose = true;
        } catch (IOException e) {
            close();
            throw new UserError("cannot write the lock file of " + file + ": " + e.getMessage(), e);
        }
    }

    private static String owner(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            return "";
        }
    }

    @Override
    public void close() {
        try {
            if (removeOnClose && lock.isValid()) Files.deleteIfExists(file); // before the release: see the class comment
            if (lock.isValid()) lock.release();
            channel.close();
        } catch (IOException e) {
            // the lock goes with the channel or the process
        }
    }
}
