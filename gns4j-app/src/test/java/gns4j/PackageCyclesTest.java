package gns4j;

import gns4j.cli.Main;
import gns4j.gns.GnsEstimator;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.constantpool.PoolEntry;
import java.lang.classfile.constantpool.StringEntry;
import java.lang.classfile.constantpool.Utf8Entry;
import java.net.URISyntaxException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The main classes' packages, the application's and gns4j-core's together, form no cycle. Dependencies are read from the compiled classes (what the JVM links, as
 * jdeps sees it): every class name in a class file's constant pool, in class references and in field, method and
 * generic signatures. String literals are left out, so a resource path such as "/gns4j/cuda/x.cu" is no dependency.
 */
class PackageCyclesTest {
    private static final Pattern CLASS_NAME = Pattern.compile("gns4j/[A-Za-z0-9_/$]+");

    /** Package to package, each edge with one class-to-class dependency that causes it (for the message). */
    record PackageGraph(Map<String, Map<String, String>> edges) {

        static PackageGraph of(Map<String, Set<String>> classDeps) {
            Map<String, Map<String, String>> edges = new TreeMap<>();
            classDeps.forEach((from, tos) -> {
                for (String to : new TreeSet<>(tos)) {
                    String a = packageOf(from), b = packageOf(to);
                    if (!a.equals(b)) edges.computeIfAbsent(a, k -> new TreeMap<>()).putIfAbsent(b, from + " uses " + to);
                }
            });
            return new PackageGraph(edges);
        }

        /** Every class under the {@code trees} (class-file trees) with the gns4j classes it names. */
        static PackageGraph read(List<Path> trees) {
            Map<String, Set<String>> deps = new TreeMap<>();
            for (Path f : classFiles(trees)) {
                ClassModel model;
                try {
                    model = ClassFile.of().parse(f);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                Set<String> literals = new HashSet<>();
                for (PoolEntry e : model.constantPool()) if (e instanceof StringEntry s) literals.add(s.stringValue());
                Set<String> named = new HashSet<>();
                for (PoolEntry e : model.constantPool()) {
                    if (!(e instanceof Utf8Entry u) || literals.contains(u.stringValue())) continue;
                    Matcher m = CLASS_NAME.matcher(u.stringValue());
                    while (m.find()) named.add(topLevel(m.group()));
                }
                deps.computeIfAbsent(topLevel(model.thisClass().asInternalName()), k -> new HashSet<>()).addAll(named);
            }
            return of(deps);
        }

        /** "gns4j/a/B$C" -> "gns4j.a.B". */
        static String topLevel(String internalName) {
            int nested = internalName.indexOf('$');
            return (nested < 0 ? internalName : internalName.substring(0, nested)).replace('/', '.');
        }

        static String packageOf(String className) { return className.substring(0, className.lastIndexOf('.')); }

        /** One cycle per strongly connected component of two or more packages, each as a line naming its edges. */
        List<String> cycles() {
            List<String> out = new ArrayList<>();
            for (Set<String> component : components()) {
                if (component.size() < 2) continue;
                List<String> path = cycleWithin(component);
                StringBuilder line = new StringBuilder(String.join(" -> ", path)).append(" (");
                for (int i = 0; i + 1 < path.size(); i++)
                    line.append(i > 0 ? "; " : "").append(edges.get(path.get(i)).get(path.get(i + 1)));
                out.add(line.append(')').toString());
            }
            return out;
        }

        /** A shortest cycle from the component's first package back to it (breadth-first search). */
        private List<String> cycleWithin(Set<String> component) {
            String start = component.iterator().next();
            Map<String, String> parent = new HashMap<>();
            Deque<String> queue = new ArrayDeque<>(List.of(start));
            while (!queue.isEmpty()) {
                String at = queue.poll();
                for (String next : edges.getOrDefault(at, Map.of()).keySet()) {
                    if (!component.contains(next)) continue;
                    if (next.equals(start)) {
                        List<String> path = new ArrayList<>(List.of(start));
                        for (String p = at; !p.equals(start); p = parent.get(p)) path.add(1, p);
                        path.add(start);
                        return path;
                    }
                    if (!parent.containsKey(next)) {
                        parent.put(next, at);
                        queue.add(next);
                    }
                }
            }
            throw new IllegalStateException("no cycle through " + start);
        }

        /** Strongly connected components (Tarjan), each sorted. */
        private List<Set<String>> components() {
            Set<String> nodes = new TreeSet<>(edges.keySet());
            edges.values().forEach(m -> nodes.addAll(m.keySet()));
            var t = new Tarjan();
            for (String n : nodes) if (!t.index.containsKey(n)) t.visit(n);
            return t.components;
        }

        private final class Tarjan {
            final Map<String, Integer> index = new HashMap<>(), low = new HashMap<>();
            final Deque<String> stack = new ArrayDeque<>();
            final Set<String> onStack = new HashSet<>();
            final List<Set<String>> components = new ArrayList<>();

            void visit(String v) {
                index.put(v, index.size());
                low.put(v, index.get(v));
                stack.push(v);
                onStack.add(v);
                for (String w : edges.getOrDefault(v, Map.of()).keySet()) {
                    if (!index.containsKey(w)) {
                        visit(w);
                        low.put(v, Math.min(low.get(v), low.get(w)));
                    } else if (onStack.contains(w)) {
                        low.put(v, Math.min(low.get(v), index.get(w)));
                    }
                }
                if (low.get(v).equals(index.get(v))) {
                    Set<String> component = new TreeSet<>();
                    String w;
                    do {
                        w = stack.pop();
                        onStack.remove(w);
                        component.add(w);
                    } while (!w.equals(v));
                    components.add(component);
                }
            }
        }
    }

    /** The class files under the trees; module descriptors are left out (they name modules, not classes). */
    static List<Path> classFiles(List<Path> trees) {
        List<Path> out = new ArrayList<>();
        for (Path tree : trees) {
            try (Stream<Path> files = Files.walk(tree)) {
                files.filter(f -> f.toString().endsWith(".class") && !f.endsWith("module-info.class")).forEach(out::add);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return out;
    }

    /** The class files that hold a class: its classes folder, or its jar read in place (gns4j-core once packaged). */
    record ClassTree(Path root, FileSystem jar) implements AutoCloseable {
        static ClassTree of(Class<?> c) throws URISyntaxException, IOException {
            Path location = Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (Files.isDirectory(location)) return new ClassTree(location, null);
            FileSystem jar = FileSystems.newFileSystem(location);
            return new ClassTree(jar.getPath("/"), jar);
        }

        @Override
        public void close() throws IOException {
            if (jar != null) jar.close();
        }
    }

    @Test
    void mainPackagesHaveNoCycle() throws URISyntaxException, IOException {
        try (ClassTree app = ClassTree.of(Main.class); ClassTree core = ClassTree.of(GnsEstimator.class)) {
            List<Path> trees = List.of(app.root(), core.root());
            for (Path tree : trees)
                assertTrue(Files.isDirectory(tree.resolve("gns4j")), "compiled main classes expected in " + tree);
            PackageGraph graph = PackageGraph.read(trees);
            assertTrue(graph.edges().getOrDefault("gns4j.cli", Map.of()).containsKey("gns4j.train"), "the reader sees the CLI's dependencies");
            assertTrue(graph.edges().getOrDefault("gns4j.train", Map.of()).containsKey("gns4j.gns"), "the reader sees gns4j-core");
            Set<String> packages = new TreeSet<>();
            for (Path tree : trees)
                for (Path f : classFiles(List.of(tree)))
                    packages.add(tree.relativize(f.getParent()).toString().replace('/', '.'));
            // resource paths in string literals ("/gns4j/cuda/...", "/gns4j/demo/...") are not read as packages
            graph.edges().values().forEach(targets -> assertTrue(packages.containsAll(targets.keySet()), targets.keySet().toString()));
            assertEquals(List.of(), graph.cycles(), "package cycles among the main classes");
        }
    }

    @Test
    void aCycleIsNamedWithTheClassesThatCloseIt() {
        var graph = PackageGraph.of(Map.of(
                "gns4j.a.A", Set.of("gns4j.b.B"),
                "gns4j.b.B", Set.of("gns4j.c.C", "gns4j.b.Other"),
                "gns4j.c.C", Set.of("gns4j.a.A2"),
                "gns4j.d.D", Set.of("gns4j.a.A")));
        assertEquals(List.of("gns4j.a -> gns4j.b -> gns4j.c -> gns4j.a (gns4j.a.A uses gns4j.b.B; "
                + "gns4j.b.B uses gns4j.c.C; gns4j.c.C uses gns4j.a.A2)"), graph.cycles());
        assertEquals(List.of(), PackageGraph.of(Map.of("gns4j.a.A", Set.of("gns4j.b.B"), "gns4j.d.D", Set.of("gns4j.a.A"))).cycles());
    }

    @Test
    void nestedClassesCountAsTheirTopLevelClass() {
        assertEquals("gns4j.parallel.NcclBootstrap", PackageGraph.topLevel("gns4j/parallel/NcclBootstrap$Env"));
        assertEquals("gns4j.backend.cuda", PackageGraph.packageOf("gns4j.backend.cuda.Gpu"));
    }
}
