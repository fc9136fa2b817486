package gns4j.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The CUDA driver API (libcuda.so.1) through FFM, bound on first use. Handles (context, stream, event, module,
 * function) and device pointers are longs; host pointers are segments. Every non-zero status throws
 * {@link CudaException} naming the call.
 */
final class Driver {
    static final int ATTR_MULTIPROCESSOR_COUNT = 16, ATTR_CC_MAJOR = 75, ATTR_CC_MINOR = 76;
    static final int FUNC_ATTR_MAX_DYNAMIC_SHARED = 8;
    /** CU_EVENT_DISABLE_TIMING: an event only for ordering (cheaper to record and wait on). */
    static final int EVENT_DISABLE_TIMING = 2;
    private static final int ERROR_NO_DEVICE = 100, ERROR_NOT_READY = 600;
    private static Driver instance;

    private final MethodHandle init, deviceGetCount, deviceGet, deviceGetName, deviceGetAttribute, primaryCtxRetain,
            primaryCtxRelease, ctxSetCurrent, memAlloc, memFree, memGetInfo, memcpyHtoDAsync, memcpyDtoHAsync,
            memcpyDtoDAsync, memsetD8Async, streamCreate, streamSynchronize, streamQuery, streamDestroy, streamWaitEvent, eventCreate, eventRecord,
            eventSynchronize, eventElapsedTime, eventDestroy, moduleLoadData, moduleGetFunction, funcSetAttribute,
            occupancy, launchKernel, getErrorName, getErrorString;
    private final String elapsedName;

    static synchronized Driver get() {
        if (instance == null) instance = new Driver();
        return instance;
    }

    private Driver() {
        NativeLibrary lib = NativeLibrary.load("the CUDA driver (libcuda.so.1; no NVIDIA driver installed?)", List.of("libcuda.so.1", "libcuda.so"));
        init = lib.fn("cuInit", JAVA_INT, JAVA_INT);
        deviceGetCount = lib.fn("cuDeviceGetCount", JAVA_INT, ADDRESS);
        deviceGet = lib.fn("cuDeviceGet", JAVA_INT, ADDRESS, JAVA_INT);
        deviceGetName = lib.fn("cuDeviceGetName", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT);
        deviceGetAttribute = lib.fn("cuDeviceGetAttribute", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT);
        primaryCtxRetain = lib.fn("cuDevicePrimaryCtxRetain", JAVA_INT, ADDRESS, JAVA_INT);
        primaryCtxRelease = lib.fn("cuDevicePrimaryCtxRelease_v2", JAVA_INT, JAVA_INT);
        ctxSetCurrent = lib.fn("cuCtxSetCurrent", JAVA_INT, JAVA_LONG);
        memAlloc = lib.fn("cuMemAlloc_v2", JAVA_INT, ADDRESS, JAVA_LONG);
        memFree = lib.fn("cuMemFree_v2", JAVA_INT, JAVA_LONG);
        memGetInfo = lib.fn("cuMemGetInfo_v2", JAVA_INT, ADDRESS, ADDRESS);
        memcpyHtoDAsync = lib.fn("cuMemcpyHtoDAsync_v2", JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG);
        memcpyDtoHAsync = lib.fn("cuMemcpyDtoHAsync_v2", JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG);
        memcpyDtoDAsync = lib.fn("cuMemcpyDtoDAsync_v2", JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG);
        memsetD8Async = lib.fn("cuMemsetD8Async", JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG);
        streamCreate = lib.fn("cuStreamCreate", JAVA_INT, ADDRESS, JAVA_INT);
        streamSynchronize = lib.fn("cuStreamSynchronize", JAVA_INT, JAVA_LONG);
        streamQuery = lib.fn("cuStreamQuery", JAVA_INT, JAVA_LONG);
        streamDestroy = lib.fn("cuStreamDestroy_v2", JAVA_INT, JAVA_LONG);
        // CUresult cuStreamWaitEvent(CUstream hStream, CUevent hEvent, unsigned int Flags)
        streamWaitEvent = lib.fn("cuStreamWaitEvent", JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT);
        eventCreate = lib.fn("cuEventCreate", JAVA_INT, ADDRESS, JAVA_INT);
        eventRecord = lib.fn("cuEventRecord", JAVA_INT, JAVA_LONG, JAVA_LONG);
        eventSynchronize = lib.fn("cuEventSynchronize", JAVA_INT, JAVA_LONG);
        elapsedName = lib.has("cuEventElapsedTime_v2") ? "cuEventElapsedTime_v2" : "cuEventElapsedTime";
        eventElapsedTime = lib.fn(elapsedName, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG);
        eventDestroy = lib.fn("cuEventDestroy_v2", JAVA_INT, JAVA_LONG);
        moduleLoadData = lib.fn("cuModuleLoadData", JAVA_INT, ADDRESS, ADDRESS);
        moduleGetFunction = lib.fn("cuModuleGetFunction", JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS);
        funcSetAttribute = lib.fn("cuFuncSetAttribute", JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT);
        occupancy = lib.fn("cuOccupancyMaxActiveBlocksPerMultiprocessor", JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_LONG);
        launchKernel = lib.fn("cuLaunchKernel", JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS);
        getErrorName = lib.fn("cuGetErrorName", JAVA_INT, JAVA_INT, ADDRESS);
        getErrorString = lib.fn("cuGetErrorString", JAVA_INT, JAVA_INT, ADDRESS);
        check("cuInit", NativeLibrary.call(() -> (int) init.invokeExact(0)), true);
    }

    private void check(String name, int status) { check(name, status, false); }

    private void check(String name, int status, boolean noDeviceIsFine) {
        if (status == 0 || (noDeviceIsFine && status == ERROR_NO_DEVICE)) return;
        throw new CudaException(name, status, errorString(status));
    }

    /** "CUDA_ERROR_OUT_OF_MEMORY: out of memory" for a status code. */
    String errorString(int status) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment name = a.allocate(ADDRESS), text = a.allocate(ADDRESS);
            int r1 = NativeLibrary.call(() -> (int) getErrorName.invokeExact(status, name));
            int r2 = NativeLibrary.call(() -> (int) getErrorString.invokeExact(status, text));
            String n = r1 == 0 ? cString(name) : "CUDA error " + status, s = r2 == 0 ? cString(text) : "";
            return s.isEmpty() ? n : n + ": " + s;
        }
    }

    static String cString(MemorySegment pointerHolder) {
        MemorySegment p = pointerHolder.get(ADDRESS, 0);
        return p.equals(MemorySegment.NULL) ? "" : p.reinterpret(4096).getString(0);
    }

    int deviceCount() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment n = a.allocate(JAVA_INT);
            int status = NativeLibrary.call(() -> (int) deviceGetCount.invokeExact(n));
            if (status == ERROR_NO_DEVICE) return 0;
            check("cuDeviceGetCount", status);
            return n.get(JAVA_INT, 0);
        }
    }

    int device(int ordinal) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment d = a.allocate(JAVA_INT);
            check("cuDeviceGet", NativeLibrary.call(() -> (int) deviceGet.invokeExact(d, ordinal)));
            return d.get(JAVA_INT, 0);
        }
    }

    String deviceName(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(256);
            check("cuDeviceGetName", NativeLibrary.call(() -> (int) deviceGetName.invokeExact(s, 256, device)));
            return s.getString(0);
        }
    }

    int attribute(int device, int attr) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            check("cuDeviceGetAttribute", NativeLibrary.call(() -> (int) deviceGetAttribute.invokeExact(v, attr, device)));
            return v.get(JAVA_INT, 0);
        }
    }

    /** Retains the device's primary context and makes it current on this thread. */
    long retainPrimaryContext(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment c = a.allocate(JAVA_LONG);
            check("cuDevicePrimaryCtxRetain", NativeLibrary.call(() -> (int) primaryCtxRetain.invokeExact(c, device)));
            long ctx = c.get(JAVA_LONG, 0);
            setCurrent(ctx);
            return ctx;
        }
    }

    void setCurrent(long ctx) { check("cuCtxSetCurrent", NativeLibrary.call(() -> (int) ctxSetCurrent.invokeExact(ctx))); }

    void releasePrimaryContext(int device) {
        check("cuDevicePrimaryCtxRelease", NativeLibrary.call(() -> (int) primaryCtxRelease.invokeExact(device)));
    }

    long memAlloc(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(JAVA_LONG);
            int status = NativeLibrary.call(() -> (int) memAlloc.invokeExact(p, bytes));
            if (status != 0) throw new CudaException("cuMemAlloc(" + bytes + " bytes)", status, errorString(status));
            return p.get(JAVA_LONG, 0);
        }
    }

    void memFree(long ptr) { check("cuMemFree", NativeLibrary.call(() -> (int) memFree.invokeExact(ptr))); }

    /** {free, total} device memory in bytes. */
    long[] memInfo() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment f = a.allocate(JAVA_LONG), t = a.allocate(JAVA_LONG);
            check("cuMemGetInfo", NativeLibrary.call(() -> (int) memGetInfo.invokeExact(f, t)));
            return new long[]{f.get(JAVA_LONG, 0), t.get(JAVA_LONG, 0)};
        }
    }

    void copyHtoD(long dst, MemorySegment src, long bytes, long stream) {
        check("cuMemcpyHtoDAsync", NativeLibrary.call(() -> (int) memcpyHtoDAsync.invokeExact(dst, src, bytes, stream)));
    }

    void copyDtoH(MemorySegment dst, long src, long bytes, long stream) {
        check("cuMemcpyDtoHAsync", NativeLibrary.call(() -> (int) memcpyDtoHAsync.invokeExact(dst, src, bytes, stream)));
    }

    void copyDtoD(long dst, long src, long bytes, long stream) {
        check("cuMemcpyDtoDAsync", NativeLibrary.call(() -> (int) memcpyDtoDAsync.invokeExact(dst, src, bytes, stream)));
    }

    void memsetZero(long ptr, long bytes, long stream) {
        check("cuMemsetD8Async", NativeLibrary.call(() -> (int) memsetD8Async.invokeExact(ptr, 0, bytes, stream)));
    }

    long streamCreate() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(JAVA_LONG);
            check("cuStreamCreate", NativeLibrary.call(() -> (int) streamCreate.invokeExact(s, 0)));
            return s.get(JAVA_LONG, 0);
        }
    }

    void streamSynchronize(long stream) {
        check("cuStreamSynchronize", NativeLibrary.call(() -> (int) streamSynchronize.invokeExact(stream)));
    }

    /** Whether all work queued on the stream has finished (CUDA_ERROR_NOT_READY: not yet); never blocks. */
    boolean streamDone(long stream) {
        int status = NativeLibrary.call(() -> (int) streamQuery.invokeExact(stream));
        if (status == ERROR_NOT_READY) return false;
        check("cuStreamQuery", status);
        return true;
    }

    void streamDestroy(long stream) { check("cuStreamDestroy", NativeLibrary.call(() -> (int) streamDestroy.invokeExact(stream))); }

    /** Work queued on {@code stream} after this waits (on the device, not the host) for the event's latest record. */
    void streamWaitEvent(long stream, long event) {
        check("cuStreamWaitEvent", NativeLibrary.call(() -> (int) streamWaitEvent.invokeExact(stream, event, 0)));
    }

    long eventCreate() { return eventCreate(0); }

    long eventCreate(int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment e = a.allocate(JAVA_LONG);
            check("cuEventCreate", NativeLibrary.call(() -> (int) eventCreate.invokeExact(e, flags)));
            return e.get(JAVA_LONG, 0);
        }
    }

    void eventRecord(long event, long stream) { check("cuEventRecord", NativeLibrary.call(() -> (int) eventRecord.invokeExact(event, stream))); }

    /** Milliseconds between two recorded events (waits for the end event). */
    float elapsedMs(long start, long end) {
        check("cuEventSynchronize", NativeLibrary.call(() -> (int) eventSynchronize.invokeExact(end)));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ms = a.allocate(JAVA_FLOAT);
            check(elapsedName, NativeLibrary.call(() -> (int) eventElapsedTime.invokeExact(ms, start, end)));
            return ms.get(JAVA_FLOAT, 0);
        }
    }

    void eventDestroy(long event) { check("cuEventDestroy", NativeLibrary.call(() -> (int) eventDestroy.invokeExact(event))); }

    long moduleLoad(byte[] image) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(JAVA_LONG), img = a.allocate(image.length + 1L);
            img.copyFrom(MemorySegment.ofArray(image));
            check("cuModuleLoadData", NativeLibrary.call(() -> (int) moduleLoadData.invokeExact(m, img)));
            return m.get(JAVA_LONG, 0);
        }
    }

    long function(long module, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment f = a.allocate(JAVA_LONG), n = a.allocateFrom(name);
            check("cuModuleGetFunction(" + name + ")", NativeLibrary.call(() -> (int) moduleGetFunction.invokeExact(f, module, n)));
            return f.get(JAVA_LONG, 0);
        }
    }

    void setMaxDynamicShared(long function, int bytes) {
        check("cuFuncSetAttribute", NativeLibrary.call(() -> (int) funcSetAttribute.invokeExact(function, FUNC_ATTR_MAX_DYNAMIC_SHARED, bytes)));
    }

    /** Blocks of blockSize threads (and dynamic shared bytes) of function that one SM holds at once. */
    int blocksPerSm(long function, int blockSize, long smem) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment n = a.allocate(JAVA_INT);
            check("cuOccupancyMaxActiveBlocksPerMultiprocessor", NativeLibrary.call(() -> (int) occupancy.invokeExact(n, function, blockSize, smem)));
            return n.get(JAVA_INT, 0);
        }
    }

    void launch(String name, long f, int gx, int gy, int gz, int bx, int smem, long stream, MemorySegment params) {
        int status = NativeLibrary.call(() -> (int) launchKernel.invokeExact(f, gx, gy, gz, bx, 1, 1, smem, stream, params, MemorySegment.NULL));
        if (status != 0) throw new CudaException("cuLaunchKernel(" + name + ")", status, errorString(status));
    }
}
