package gns4j.backend.cuda;

import gns4j.parallel.NcclBootstrap;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * NCCL (libnccl.so.2) through FFM, bound by hand on first use. Communicators ({@code ncclComm_t}), CUDA streams and
 * device pointers are longs, as in the CUDA driver bindings; {@code size_t} is a long and enums are ints. Every
 * status other than ncclSuccess throws {@link NcclException} naming the call. Loading NCCL also sets
 * NCCL_NVLS_ENABLE=0 in this process's C environment (before any communicator exists; NCCL reads it at init): NVLink
 * multicast (NVLS) stays off on the lent machines.
 */
public final class Nccl {
    // ncclDataType_t
    public static final int INT8 = 0, INT32 = 2, INT64 = 4, FLOAT16 = 6, FLOAT32 = 7, FLOAT64 = 8, BFLOAT16 = 9;
    /** ncclResult_t of an operation still under way (ncclCommGetAsyncError of a non-blocking communicator). */
    public static final int IN_PROGRESS = 7;
    // ncclRedOp_t
    public static final int SUM = 0, PROD = 1, MAX = 2, MIN = 3, AVG = 4;
    public static final int UNIQUE_ID_BYTES = NcclBootstrap.ID_BYTES;

    /** NCCL keeps soname major 2 whatever CUDA it was built for, so one name serves CUDA 12 and 13. */
    static final List<String> LIBRARY_NAMES = List.of("libnccl.so.2", "libnccl.so");

    /** {@code typedef struct { char internal[128]; } ncclUniqueId;}, passed by value to ncclCommInitRank. */
    static final StructLayout UNIQUE_ID = MemoryLayout.structLayout(
            MemoryLayout.sequenceLayout(UNIQUE_ID_BYTES, JAVA_BYTE).withName("internal")).withName("ncclUniqueId");

    /** One bound function: name, C signature, and whether loading fails without it. */
    record Symbol(String name, FunctionDescriptor descriptor, boolean required) {}

    /** Every function this class calls, with its signature from nccl.h. */
    static final List<Symbol> SYMBOLS = List.of(
            // ncclResult_t ncclGetVersion(int* version)
            new Symbol("ncclGetVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS), true),
            // ncclResult_t ncclGetUniqueId(ncclUniqueId* uniqueId)
            new Symbol("ncclGetUniqueId", FunctionDescriptor.of(JAVA_INT, ADDRESS), true),
            // ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId commId, int rank)
            new Symbol("ncclCommInitRank", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, UNIQUE_ID, JAVA_INT), true),
            // ncclResult_t ncclAllReduce(const void* send, void* recv, size_t count, ncclDataType_t, ncclRedOp_t,
            //                            ncclComm_t, cudaStream_t)
            new Symbol("ncclAllReduce", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT,
                    JAVA_INT, JAVA_LONG, JAVA_LONG), true),
            // ncclResult_t ncclBroadcast(const void* send, void* recv, size_t count, ncclDataType_t, int root,
            //                            ncclComm_t, cudaStream_t)
            new Symbol("ncclBroadcast", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT,
                    JAVA_INT, JAVA_LONG, JAVA_LONG), true),
            // ncclResult_t ncclCommDestroy(ncclComm_t comm)
            new Symbol("ncclCommDestroy", FunctionDescriptor.of(JAVA_INT, JAVA_LONG), true),
            // const char* ncclGetErrorString(ncclResult_t result)
            new Symbol("ncclGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT), true),
            // ncclResult_t ncclGroupStart(void), ncclGroupEnd(void): one launch for several bucket all-reduces
            new Symbol("ncclGroupStart", FunctionDescriptor.of(JAVA_INT), true),
            new Symbol("ncclGroupEnd", FunctionDescriptor.of(JAVA_INT), true),
            // ncclResult_t ncclCommAbort(ncclComm_t comm): a peer died, don't wait for it
            new Symbol("ncclCommAbort", FunctionDescriptor.of(JAVA_INT, JAVA_LONG), true),
            // ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t* asyncError)
            new Symbol("ncclCommGetAsyncError", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS), true),
            // const char* ncclGetLastError(ncclComm_t comm) (NCCL >= 2.13)
            new Symbol("ncclGetLastError", FunctionDescriptor.of(ADDRESS, JAVA_LONG), false));

    private static final String[] RESULT_NAMES = {"ncclSuccess", "ncclUnhandledCudaError", "ncclSystemError",
            "ncclInternalError", "ncclInvalidArgument", "ncclInvalidUsage", "ncclRemoteError", "ncclInProgress"};

    private static Nccl instance;
    private static String unavailable;

    private final Map<String, MethodHandle> fns;

    private Nccl(Map<String, MethodHandle> fns) { this.fns = fns; }

    /** Downcall handles for {@link #SYMBOLS}; a missing required function fails naming every missing one. */
    static Map<String, MethodHandle> bind(NativeLibrary lib) {
        Map<String, MethodHandle> out = new LinkedHashMap<>();
        List<String> missing = new ArrayList<>();
        for (Symbol s : SYMBOLS) {
            if (lib.has(s.name())) out.put(s.name(), lib.fn(s.name(), s.descriptor()));
            else if (s.required()) missing.add(s.name());
        }
        if (!missing.isEmpty()) throw new NcclUnavailableException("NCCL lacks the function(s) " + String.join(", ", missing));
        return out;
    }

    /** The bindings, loading libnccl on first use; throws {@link NcclUnavailableException} where it is absent. */
    public static synchronized Nccl get() {
        if (instance != null) return instance;
        if (unavailable != null) throw new NcclUnavailableException(unavailable);
        try {
            Map<String, MethodHandle> fns = bind(NativeLibrary.load("NCCL", LIBRARY_NAMES, NcclUnavailableException::new));
            disableNvls();
            instance = new Nccl(fns);
            return instance;
        } catch (NcclUnavailableException e) {
            unavailable = e.getMessage();
            throw e;
        }
    }

    /** Whether libnccl loads here; never throws. */
    public static boolean available() {
        try {
            get();
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** Why {@link #available()} is false, or null. */
    public static synchronized String unavailableReason() { return unavailable; }

    /** Sets NCCL_NVLS_ENABLE=0 in this process's C environment (libc setenv, overwriting), so NCCL's getenv sees it. */
    static void disableNvls() {
        Linker linker = Linker.nativeLinker();
        var setenv = linker.defaultLookup().find("setenv")
                .orElseThrow(() -> new NcclUnavailableException("libc lacks setenv"));
        MethodHandle h = linker.downcallHandle(setenv, FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        try (Arena a = Arena.ofConfined()) {
            int r = (int) h.invokeExact(a.allocateFrom("NCCL_NVLS_ENABLE"), a.allocateFrom("0"), 1);
            if (r != 0) throw new IllegalStateException("setenv(NCCL_NVLS_ENABLE) failed");
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** "ncclSystemError" for 2; "ncclResult 42" for a code this version does not know. */
    public static String resultName(int code) {
        return code >= 0 && code < RESULT_NAMES.length ? RESULT_NAMES[code] : "ncclResult " + code;
    }

    /** "2.28.3" for 22803 (codes since NCCL 2.9: major·10000 + minor·100 + patch; before: major·1000 + minor·100 + patch). */
    public static String versionString(int code) {
        if (code >= 10000) return code / 10000 + "." + code / 100 % 100 + "." + code % 100;
        return code / 1000 + "." + code / 100 % 10 + "." + code % 100;
    }

    private MethodHandle fn(String name) {
        MethodHandle h = fns.get(name);
        if (h == null) throw new NcclUnavailableException("NCCL lacks the function " + name);
        return h;
    }

    @FunctionalInterface
    private interface Call { int run() throws Throwable; }

    private void check(String name, Call c) {
        int status;
        try {
            status = c.run();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        if (status != 0) throw new NcclException(name, status, errorString(status));
    }

    /** NCCL's text for a status code. */
    public String errorString(int status) {
        try {
            MemorySegment p = (MemorySegment) fn("ncclGetErrorString").invokeExact(status);
            return p.equals(MemorySegment.NULL) ? "" : p.reinterpret(4096).getString(0);
        } catch (Throwable t) {
            return "";
        }
    }

    /** The version code, e.g. 22803 for 2.28.3. */
    public int version() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            check("ncclGetVersion", () -> (int) fn("ncclGetVersion").invokeExact(v));
            return v.get(JAVA_INT, 0);
        }
    }

    /** A new unique id (rank 0 only), 128 opaque bytes to hand to every rank. */
    public byte[] uniqueId() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment id = a.allocate(UNIQUE_ID);
            check("ncclGetUniqueId", () -> (int) fn("ncclGetUniqueId").invokeExact(id));
            return id.toArray(JAVA_BYTE);
        }
    }

    /** A communicator of {@code nranks} with this process as {@code rank}, on the current CUDA context's device. */
    public long commInitRank(int nranks, byte[] uniqueId, int rank) {
        if (uniqueId.length != UNIQUE_ID_BYTES)
            throw new IllegalArgumentException("an NCCL unique id has " + UNIQUE_ID_BYTES + " bytes, got " + uniqueId.length);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment comm = a.allocate(JAVA_LONG), id = a.allocate(UNIQUE_ID);
            MemorySegment.copy(uniqueId, 0, id, JAVA_BYTE, 0, UNIQUE_ID_BYTES);
            check("ncclCommInitRank(rank " + rank + " of " + nranks + ")",
                    () -> (int) fn("ncclCommInitRank").invokeExact(comm, nranks, id, rank));
            return comm.get(JAVA_LONG, 0);
        }
    }

    /** Enqueues a sum all-reduce of {@code count} elements (in place when send == recv) on {@code stream}. */
    public void allReduceSum(long send, long recv, long count, int dataType, long comm, long stream) {
        check("ncclAllReduce", () -> (int) fn("ncclAllReduce").invokeExact(send, recv, count, dataType, SUM, comm, stream));
    }

    /** Enqueues a broadcast of {@code count} elements from {@code root} on {@code stream}. */
    public void broadcast(long send, long recv, long count, int dataType, int root, long comm, long stream) {
        check("ncclBroadcast", () -> (int) fn("ncclBroadcast").invokeExact(send, recv, count, dataType, root, comm, stream));
    }

    public void groupStart() { check("ncclGroupStart", () -> (int) fn("ncclGroupStart").invokeExact()); }

    public void groupEnd() { check("ncclGroupEnd", () -> (int) fn("ncclGroupEnd").invokeExact()); }

    /** The communicator's asynchronous error (a peer's failure shows here as ncclRemoteError / ncclSystemError). */
    public int asyncError(long comm) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment r = a.allocate(JAVA_INT);
            check("ncclCommGetAsyncError", () -> (int) fn("ncclCommGetAsyncError").invokeExact(comm, r));
            return r.get(JAVA_INT, 0);
        }
    }

    public void commDestroy(long comm) { check("ncclCommDestroy", () -> (int) fn("ncclCommDestroy").invokeExact(comm)); }

    /** Frees the communicator without waiting for pending operations or peers. */
    public void commAbort(long comm) { check("ncclCommAbort", () -> (int) fn("ncclCommAbort").invokeExact(comm)); }
}
