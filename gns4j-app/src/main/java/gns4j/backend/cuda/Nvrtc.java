package gns4j.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** NVRTC (libnvrtc.so.13): compiles CUDA C++ source to a CUBIN for one GPU architecture at run time. */
final class Nvrtc {
    private static Nvrtc instance;
    private final MethodHandle version, create, compile, cubinSize, cubin, logSize, log, destroy, errorString;

    static synchronized Nvrtc get() {
        if (instance == null) instance = new Nvrtc(NativeLibrary.toolkitNames("libnvrtc"));
        return instance;
    }

    /** NVRTC from the first of these library names that opens (tests also try older toolkits' sonames). */
    Nvrtc(List<String> names) {
        NativeLibrary lib = NativeLibrary.load("NVRTC", names);
        version = lib.fn("nvrtcVersion", JAVA_INT, ADDRESS, ADDRESS);
        create = lib.fn("nvrtcCreateProgram", JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
        compile = lib.fn("nvrtcCompileProgram", JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS);
        cubinSize = lib.fn("nvrtcGetCUBINSize", JAVA_INT, JAVA_LONG, ADDRESS);
        cubin = lib.fn("nvrtcGetCUBIN", JAVA_INT, JAVA_LONG, ADDRESS);
        logSize = lib.fn("nvrtcGetProgramLogSize", JAVA_INT, JAVA_LONG, ADDRESS);
        log = lib.fn("nvrtcGetProgramLog", JAVA_INT, JAVA_LONG, ADDRESS);
        destroy = lib.fn("nvrtcDestroyProgram", JAVA_INT, ADDRESS);
        errorString = lib.fn("nvrtcGetErrorString", ADDRESS, JAVA_INT);
    }

    private void check(String call, int status) { check(call, status, ""); }

    private void check(String call, int status, String extra) {
        if (status == 0) return;
        String text;
        try {
            MemorySegment p = (MemorySegment) errorString.invokeExact(status);
            text = p.reinterpret(256).getString(0);
        } catch (Throwable t) {
            text = "NVRTC error";
        }
        throw new CudaException(call, status, text + extra);
    }

    /** "13.0". */
    String version() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment major = a.allocate(JAVA_INT), minor = a.allocate(JAVA_INT);
            check("nvrtcVersion", NativeLibrary.call(() -> (int) version.invokeExact(major, minor)));
            return major.get(JAVA_INT, 0) + "." + minor.get(JAVA_INT, 0);
        }
    }

    /** Compiles source with options (e.g. --gpu-architecture=sm_90) and returns the CUBIN; the log goes in the error. */
    byte[] compile(String source, String name, List<String> options) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment progHolder = a.allocate(JAVA_LONG);
            MemorySegment src = a.allocateFrom(source), nm = a.allocateFrom(name);
            check("nvrtcCreateProgram", NativeLibrary.call(() -> (int) create.invokeExact(progHolder, src, nm, 0, MemorySegment.NULL, MemorySegment.NULL)));
            long prog = progHolder.get(JAVA_LONG, 0);
            try {
                MemorySegment opts = a.allocate(ADDRESS, Math.max(1, options.size()));
                for (int i = 0; i < options.size(); i++) opts.setAtIndex(ADDRESS, i, a.allocateFrom(options.get(i)));
                int status = NativeLibrary.call(() -> (int) compile.invokeExact(prog, options.size(), opts));
                if (status != 0) check("nvrtcCompileProgram(" + name + ")", status, "\n" + programLog(a, prog));
                MemorySegment size = a.allocate(JAVA_LONG);
                check("nvrtcGetCUBINSize", NativeLibrary.call(() -> (int) cubinSize.invokeExact(prog, size)));
                MemorySegment out = a.allocate(size.get(JAVA_LONG, 0));
                check("nvrtcGetCUBIN", NativeLibrary.call(() -> (int) cubin.invokeExact(prog, out)));
                return out.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            } finally {
                NativeLibrary.call(() -> (int) destroy.invokeExact(progHolder));
            }
        }
    }

    private String programLog(Arena a, long prog) {
        MemorySegment size = a.allocate(JAVA_LONG);
        check("nvrtcGetProgramLogSize", NativeLibrary.call(() -> (int) logSize.invokeExact(prog, size)));
        MemorySegment text = a.allocate(Math.max(1, size.get(JAVA_LONG, 0)));
        check("nvrtcGetProgramLog", NativeLibrary.call(() -> (int) log.invokeExact(prog, text)));
        return text.getString(0);
    }
}
