package gns4j.gns;

import org.junit.jupiter.api.Test;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReader;
import java.lang.module.ModuleReference;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * The library as its users get it, read from the compiled classes (a folder or the jar): a module that needs nothing
 * but java.base, exports only the API package, and runs on Java 17.
 */
class CoreModuleTest {
    /** The class-file version of Java 17. */
    private static final int JAVA_17 = 61;

    private static ModuleReference compiledModule() throws URISyntaxException {
        Path classes = Path.of(GnsEstimator.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Set<ModuleReference> found = ModuleFinder.of(classes).findAll();
        assertEquals(1, found.size(), "one module in " + classes);
        return found.iterator().next();
    }

    @Test
    void requiresNothingAndExportsOnlyTheApi() throws URISyntaxException {
        ModuleDescriptor module = compiledModule().descriptor();
        assertEquals("gns4j.core", module.name());
        assertEquals(Set.of("java.base"), module.requires().stream().map(ModuleDescriptor.Requires::name)
                .collect(Collectors.toSet()));
        assertEquals(Set.of("gns4j.gns"), module.exports().stream().map(ModuleDescriptor.Exports::source)
                .collect(Collectors.toSet()));
    }

    @Test
    void everyClassTargetsJava17() throws URISyntaxException, IOException {
        try (ModuleReader reader = compiledModule().open()) {
            List<String> classes = reader.list().filter(name -> name.endsWith(".class")).collect(Collectors.toList());
            assertFalse(classes.isEmpty());
            for (String name : classes) {
                try (InputStream in = reader.open(name).orElseThrow(); DataInputStream data = new DataInputStream(in)) {
                    data.readInt(); // magic
                    data.readUnsignedShort(); // minor version
                    assertEquals(JAVA_17, data.readUnsignedShort(), name);
                }
            }
        }
    }
}
