package gns4j.report;

import gns4j.train.MetricsLine;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * One run folder as read from disk.
 *
 * @param steps    step records in increasing step order (a resumed run's repeated steps keep the later copy)
 * @param finished whether summary.json exists, i.e. the trainer reached its end
 * @param notes    what was missing or skipped, one short sentence each, shown on the page
 */
public record Run(String name, Path dir, Map<String, String> config, List<MetricsLine> steps, boolean finished,
                  List<String> notes) {}
