package gns4j.backend.cuda;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * A small public handle on one GPU for code outside this package (the NCCL communicator), over the package's driver
 * bindings: the device's primary context (the one {@link CudaBackend} on the same device uses, so device pointers are
 * shared), one stream of its own, and device memory freed on close. Pointers and the stream are longs. Not
 * thread-safe; every call first makes the context current on the calling thread.
 */
public final class CudaDevice implements AutoCloseable {
    private final Driver driver;
    private final int device;
    private final long context, stream;
    private final List<Long> allocations = new ArrayList<>();
    private boolean closed;

    private CudaDevice(int ordinal) {
        driver = Driver.get();
        int count = driver.deviceCount();
        if (ordinal < 0 || ordinal >= count) throw new CudaUnavailableException("no GPU " + ordinal + " (" + count + " visible)");
        device = driver.device(ordinal);
        context = driver.retainPrimaryContext(device);
        try {
            stream = driver.streamCreate();
        } catch (RuntimeException | Error e) {
            driver.releasePrimaryContext(device);
            throw e;
        }
    }

    /** GPU {@code ordinal}, its primary context made current on this thread. */
    public static CudaDevice open(int ordinal) { return new CudaDevice(ordinal); }

    /** GPUs the driver sees; 0 without a driver. Never throws. */
    public static int count() {
        try {
            return Driver.get().deviceCount();
        } catch (Throwable t) {
            return 0;
        }
    }

    /** The CUDA stream (CUstream) this handle queues work on. */
    public long stream() { return stream; }

    public void makeCurrent() { driver.setCurrent(context); }

    public long alloc(long bytes) {
        makeCurrent();
        long p = driver.memAlloc(Math.max(256, bytes));
        allocations.add(p);
        return p;
    }

    public void free(long ptr) {
        makeCurrent();
        if (allocations.remove(ptr)) driver.memFree(ptr);
    }

    /** Queues a copy of host {@code src} to device {@code dst} on the stream. */
    public void upload(long dst, MemorySegment src) {
        makeCurrent();
        driver.copyHtoD(dst, src, src.byteSize(), stream);
    }

    /** Queues a copy of device {@code src} into host {@code dst} on the stream; {@link #sync} before reading dst. */
    public void download(MemorySegment dst, long src) {
        makeCurrent();
        driver.copyDtoH(dst, src, dst.byteSize(), stream);
    }

    /** Work queued on the stream from now on waits (on the GPU) for the latest record of CUevent {@code event}. */
    public void waitEvent(long event) {
        makeCurrent();
        driver.streamWaitEvent(stream, event);
    }

    /** Whether everything queued on the stream has finished; never blocks. */
    public boolean idle() {
        makeCurrent();
        return driver.streamDone(stream);
    }

    public void sync() {
        makeCurrent();
        driver.streamSynchronize(stream);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        makeCurrent();
        for (long p : allocations) driver.memFree(p);
        allocations.clear();
        driver.streamDestroy(stream);
        driver.releasePrimaryContext(device);
    }
}
