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

/** A shared library found by name (the dynamic loader's search first, then the usual CUDA directories) and its functions. */
final class NativeLibrary {
    static final List<String> DIRS = List.of("/usr/local/cuda/targets/x86_64-linux/lib", "/usr/local/cuda/lib64",
            "/usr/lib/x86_64-linux-gnu");

    private final String what;
    private final SymbolLookup lookup;

    private NativeLibrary(String what, SymbolLookup lookup) {
        this.what = what;
        this.lookup = lookup;
    }

    /** Each plain name (resolved by the loader), then each name inside each directory. */
    static List<String> candidates(List<String> names, List<String> dirs) {
        List<String> out = new ArrayList<>(names);
        for (String dir : dirs) for (String n : names) out.add(dir + "/" + n);
        return out;
    }

    /** Loads the first candidate that opens; {@code what} names the library in the error, e.g. "NVRTC". */
    static NativeLibrary load(String what, String... names) {
        for (String c : candidates(List.of(names), DIRS)) {
            try {
                if (!c.contains("/")) return new NativeLibrary(what, SymbolLookup.libraryLookup(c, Arena.global()));
                if (Files.exists(Path.of(c))) return new NativeLibrary(what, SymbolLookup.libraryLookup(Path.of(c), Arena.global()));
            } catch (IllegalArgumentException | IllegalCallerException e) {
                if (e instanceof IllegalCallerException) throw new CudaUnavailableException(
                        "native access is disabled (run java with --enable-native-access=ALL-UNNAMED)");
            }
        }
        throw new CudaUnavailableException(what + " not found (looked for " + String.join(", ", names)
                + " on the loader path and in " + String.join(", ", DIRS) + ")");
    }

    /** A downcall handle; ret null for void. Device pointers and handles are passed as JAVA_LONG. */
    MethodHandle fn(String name, MemoryLayout ret, MemoryLayout... args) {
        var symbol = lookup.find(name).orElseThrow(() -> new CudaUnavailableException(what + " lacks the function " + name));
        return Linker.nativeLinker().downcallHandle(symbol, ret == null ? FunctionDescriptor.ofVoid(args) : FunctionDescriptor.of(ret, args));
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
