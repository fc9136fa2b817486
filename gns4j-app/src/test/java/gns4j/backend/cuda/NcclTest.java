package gns4j.backend.cuda;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static org.junit.jupiter.api.Assertions.*;

class NcclTest {

    @Test
    void absentLibraryIsReportedNotThrown() {
        boolean here = Nccl.available();   // false on the CI machines; must not throw either way
        if (!here) {
            assertNotNull(Nccl.unavailableReason());
            assertTrue(Nccl.unavailableReason().contains("NCCL"), Nccl.unavailableReason());
            assertThrows(NcclUnavailableException.class, Nccl::get);
            assertFalse(Nccl.available(), "stays false, cached");
        }
    }

    @Test
    void candidatesAndSymbolTable() {
        assertEquals(List.of("libnccl.so.2", "libnccl.so"), Nccl.LIBRARY_NAMES);
        var e = assertThrows(NcclUnavailableException.class,
                () -> NativeLibrary.load("NCCL", List.of("libdefinitely-not-nccl.so.9"), NcclUnavailableException::new));
        assertTrue(e.getMessage().startsWith("NCCL not found (tried libdefinitely-not-nccl.so.9 on the loader path"), e.getMessage());
        Set<String> names = new java.util.HashSet<>();
        for (Nccl.Symbol s : Nccl.SYMBOLS) assertTrue(names.add(s.name()), "duplicate " + s.name());
        assertTrue(names.containsAll(Set.of("ncclGetVersion", "ncclGetUniqueId", "ncclCommInitRank", "ncclAllReduce",
                "ncclBroadcast", "ncclCommDestroy", "ncclGetErrorString")));
        assertEquals(128, Nccl.UNIQUE_ID.byteSize());
        // ncclCommInitRank takes the 128-byte id by value as its third argument
        var init = Nccl.SYMBOLS.stream().filter(s -> s.name().equals("ncclCommInitRank")).findFirst().orElseThrow();
        assertEquals(Nccl.UNIQUE_ID, init.descriptor().argumentLayouts().get(2));
        assertEquals(7, Nccl.SYMBOLS.stream().filter(s -> s.name().equals("ncclAllReduce")).findFirst().orElseThrow()
                .descriptor().argumentLayouts().size());
    }

    @Test
    void bindingNamesEveryMissingFunctionAndLinksEveryDescriptor() {
        // a lookup that has only ncclGetVersion: the error lists the other required ones, not the optional one
        MemorySegment someFunction = Linker.nativeLinker().defaultLookup().find("strlen").orElseThrow();
        SymbolLookup partial = name -> name.equals("ncclGetVersion") ? Optional.of(someFunction) : Optional.empty();
        var e = assertThrows(NcclUnavailableException.class, () -> Nccl.bind(new NativeLibrary("NCCL", partial, NcclUnavailableException::new)));
        assertTrue(e.getMessage().contains("ncclAllReduce") && e.getMessage().contains("ncclCommInitRank"), e.getMessage());
        assertFalse(e.getMessage().contains("ncclGetVersion") || e.getMessage().contains("ncclGetLastError"), e.getMessage());
        // every descriptor links (a by-value struct included); nothing is called
        SymbolLookup all = name -> Optional.of(someFunction);
        var fns = Nccl.bind(new NativeLibrary("NCCL", all, NcclUnavailableException::new));
        assertEquals(Nccl.SYMBOLS.size(), fns.size());
        for (MethodHandle h : fns.values()) assertNotNull(h);
    }

    @Test
    void errorsNameTheCallAndVersionsDecode() {
        var e = new NcclException("ncclAllReduce", 2, "");
        assertEquals("ncclAllReduce failed: ncclSystemError (ncclSystemError, status 2)", e.getMessage());
        assertTrue(new NcclException("ncclCommInitRank(rank 1 of 2)", 6, "remote process exited or there was a network error")
                .getMessage().startsWith("ncclCommInitRank(rank 1 of 2) failed: remote process exited"));
        assertEquals("ncclResult 42", Nccl.resultName(42));
        assertEquals("2.28.3", Nccl.versionString(22803));
        assertEquals("2.8.4", Nccl.versionString(2804));
    }

    @Test
    void nvlsIsSwitchedOffInTheProcessEnvironment() throws Throwable {
        Nccl.disableNvls();
        Linker linker = Linker.nativeLinker();
        MethodHandle getenv = linker.downcallHandle(linker.defaultLookup().find("getenv").orElseThrow(),
                FunctionDescriptor.of(ADDRESS, ADDRESS));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = (MemorySegment) getenv.invokeExact(a.allocateFrom("NCCL_NVLS_ENABLE"));
            assertEquals("0", v.reinterpret(16).getString(0));
        }
    }
}
