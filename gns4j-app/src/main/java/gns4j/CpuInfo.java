package gns4j;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** What the machine's processor is called, for result headers. */
public final class CpuInfo {
    private CpuInfo() {}

    /** The first "model name" of /proc/cpuinfo, or "" where there is none (not Linux). */
    public static String model() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                    .map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst().orElse("");
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }
}
