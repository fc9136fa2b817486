package gns4j.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * A shared library found by name (the dynamic loader's search first, then the usual CUDA directories) and its
 * functions. Every CUDA library the backend binds (driver, NVRTC, cuBLASLt, NCCL) is opened here.
 */
final class NativeLibrary {
    static final List<String> DIRS = List.of("/usr/local/cuda/targets/x86_64-linux/lib", "/usr/local/cuda/lib64",
            "/usr/lib/x86_64-linux-gnu", "/usr/lib64");

    private final String what;
    private final SymbolLookup lookup;
    private final Function<String, RuntimeException> unavailable;

    /** {@code unavailable} makes the exception for a library or function that is missing, from a one-line reason. */
    NativeLibrary(String what, SymbolLookup lookup, Function<String, RuntimeException> unavailable) {
        this.what = what;
        this.lookup = lookup;
        this.unavailable = unavailable;
    }

    /**
     * The names of a CUDA toolkit library, e.g. libnvrtc: the CUDA 13 soname, the CUDA 12 soname, then the
     * unversioned name (a development symlink, or whatever the loader path holds).
     */
    static List<String> toolkitNames(String base) { return List.of(base + ".so.13", base + ".so.12", base + ".so"); }

    /** Each plain name (resolved by the loader), then each name inside each directory. */
    static List<String> candidates(List<String> names, List<String> dirs) {
        List<String> out = new ArrayList<>(names);
        for (String dir : dirs) for (String n : names) out.add(dir + "/" + n);
        return out;
    }

    /** Loads the first candidate that opens; {@code what} names the library in the error, e.g. "NVRTC". */
    static NativeLibrary load(String what, List<String> names) { return load(what, names, CudaUnavailableException::new); }

    static NativeLibrary load(String what, List<String> names, Function<String, RuntimeException> unavailable) {
        for (String c : candidates(names, DIRS)) {
            try {
                if (!c.contains("/")) return new NativeLibrary(what, SymbolLookup.libraryLookup(c, Arena.global()), unavailable);
                if (Files.exists(Path.of(c)))
                    return new NativeLibrary(what, SymbolLookup.libraryLookup(Path.of(c), Arena.global()), unavailable);
            } catch (IllegalArgumentException e) {
                // the loader could not open this one: next candidate
            } catch (IllegalCallerException e) {
                throw unavailable.apply("native access is disabled (run java with --enable-native-access=ALL-UNNAMED)");
            }
        }
        throw unavailable.apply(notFound(what, names));
    }

    /** The one line naming every name tried and where. */
    static String notFound(String what, List<String> names) {
        return what + " not found (tried " + String.join(", ", names) + " on the loader path and in "
                + String.join(", ", DIRS) + ")";
    }

    /** A downcall handle; ret null for void. Device pointers and handles are passed as JAVA_LONG. */
    MethodHandle fn(String name, MemoryLayout ret, MemoryLayout... args) {
        return fn(name, ret == null ? FunctionDescriptor.ofVoid(args) : FunctionDescriptor.of(ret, args));
    }

    MethodHandle fn(String name, FunctionDescriptor descriptor) {
        var symbol = lookup.find(name).orElseThrow(() -> unavailable.apply(what + " lacks the function " + name));
        return Linker.nativeLinker().downcallHandle(symbol, descriptor);
    }

    boolean has(String name) { return lookup.find(name).isPresent(); }

    /** A downcall returning a status code; invokeExact's Throwable is rethrown unchecked. */
    @FunctionalInterface
    interface StatusCall { int run() throws Throwable; }

    static int call(StatusCall c) {
        try {
            return c.run();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
