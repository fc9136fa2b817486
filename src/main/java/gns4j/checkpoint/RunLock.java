package gns4j.checkpoint;

import gns4j.UserError;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The run folder's lock: {@code RUN/lock}, locked with {@link FileChannel#tryLock()} for as long as a run writes
 * the folder, holding the pid of its owner. The operating system drops the lock when the process dies, however it
 * dies (SIGKILL included), so a stale file never blocks a later run; a second run while the first is alive is
 * refused. The file itself stays (deleting it would race with another run opening it).
 */
public final class RunLock implements AutoCloseable {
    public static final String FILE = "lock";

    private final FileChannel channel;
    private final FileLock lock;

    private RunLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Locks {@code runDir} (which must exist).
     *
     * @throws UserError if another process (or another run in this one) holds it
     */
    public static RunLock acquire(Path runDir) {
        Path file = runDir.resolve(FILE);
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
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
            ch.truncate(0);
            ch.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8)), 0);
            ch.force(false);
            return new RunLock(ch, lock);
        } catch (IOException e) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // closing drops the lock anyway
            }
            throw new UserError("cannot lock " + file + ": " + e.getMessage(), e);
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
            if (lock.isValid()) lock.release();
            channel.close();
        } catch (IOException e) {
            // the lock goes with the channel or the process
        }
    }
}
