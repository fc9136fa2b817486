package gns4j.train;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/**
 * A file channel on a disk that fills up after {@code writes} more writes: each later write puts half its bytes
 * on the disk and then fails as the operating system does ("No space left on device"); freeing space ({@link #free})
 * lets writes on.
 */
final class FullDisk extends FileChannel {
    private final FileChannel file;
    private long writes;

    FullDisk(FileChannel file, long writes) {
        this.file = file;
        this.writes = writes;
    }

    void free() { writes = Long.MAX_VALUE; }

    @Override
    public int write(ByteBuffer src) throws IOException {
        if (writes-- <= 0) {
            int n = file.write(src.slice(src.position(), src.remaining() / 2));
            src.position(src.position() + n);
            throw new IOException("No space left on device");
        }
        return file.write(src);
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        long n = 0;
        for (int i = offset; i < offset + length; i++) n += write(srcs[i]);
        return n;
    }

    @Override public int write(ByteBuffer src, long position) { throw new UnsupportedOperationException(); }
    @Override public int read(ByteBuffer dst) throws IOException { return file.read(dst); }
    @Override public long read(ByteBuffer[] dsts, int offset, int length) throws IOException { return file.read(dsts, offset, length); }
    @Override public int read(ByteBuffer dst, long position) throws IOException { return file.read(dst, position); }
    @Override public long position() throws IOException { return file.position(); }
    @Override public FileChannel position(long p) throws IOException { file.position(p); return this; }
    @Override public long size() throws IOException { return file.size(); }
    @Override public FileChannel truncate(long size) throws IOException { file.truncate(size); return this; }
    @Override public void force(boolean metaData) throws IOException { file.force(metaData); }
    @Override public long transferTo(long p, long n, WritableByteChannel t) { throw new UnsupportedOperationException(); }
    @Override public long transferFrom(ReadableByteChannel s, long p, long n) { throw new UnsupportedOperationException(); }
    @Override public MappedByteBuffer map(MapMode m, long p, long n) { throw new UnsupportedOperationException(); }
    @Override public FileLock lock(long p, long n, boolean shared) { throw new UnsupportedOperationException(); }
    @Override public FileLock tryLock(long p, long n, boolean shared) { throw new UnsupportedOperationException(); }
    @Override protected void implCloseChannel() throws IOException { file.close(); }
}
