package dev.funnel.test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Metric families two ways: as a Prometheus scrape shows them, and as {@code docs/metrics.md}
 * catalogues them (table rows {@code | `name` | type | `label`, `label` | meaning |}).
 *
 * <p>A family is named as PromQL names it: counters with {@code _total}, histograms and summaries by
 * their base name (their {@code _bucket}/{@code _count}/{@code _sum} series, and the {@code _max}
 * gauge Micrometer adds, belong to it). Its labels leave out {@code le} and {@code quantile}.
 */
final class MetricsCatalog {

  record Family(String name, String type, Set<String> labels) {
  }

  private static final Pattern TYPE = Pattern.compile("^# TYPE (\\S+) (\\S+)$");
  private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)})? \\S+.*$");
  private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"(?:[^\"\\\\]|\\\\.)*\"");
  private static final Pattern ROW = Pattern.compile("^\\|\\s*`([a-z_:][a-z0-9_:]*)`\\s*\\|([^|]*)\\|([^|]*)\\|.*$");
  private static final Pattern BACKTICKED = Pattern.compile("`([a-z_][a-z0-9_]*)`");

  private MetricsCatalog() {
  }

  /** The families of a Prometheus text scrape, by name. */
  static Map<String, Family> families(String scrape) {
    Map<String, String> types = new LinkedHashMap<>();
    Map<String, Set<String>> labels = new TreeMap<>();
    for (String line : scrape.lines().toList()) {
      Matcher type = TYPE.matcher(line);
      if (type.matches()) {
        types.put(type.group(1), type.group(2));
        labels.putIfAbsent(type.group(1), new TreeSet<>());
        continue;
      }
      Matcher sample = SAMPLE.matcher(line);
      if (line.startsWith("#") || !sample.matches()) {
        continue;
      }
      String family = familyOf(sample.group(1), types);
      Set<String> keys = labels.computeIfAbsent(family, f -> new TreeSet<>());
      if (sample.group(2) != null) {
        Matcher label = LABEL.matcher(sample.group(2));
        while (label.find()) {
          if (!label.group(1).equals("le") && !label.group(1).equals("quantile")) {
            keys.add(label.group(1));
          }
        }
      }
    }
    Map<String, Family> out = new TreeMap<>();
    types.forEach((name, type) -> {
      boolean maxOfDistribution = name.endsWith("_max")
          && Set.of("histogram", "summary").contains(types.get(name.substring(0, name.length() - 4)));
      if (!maxOfDistribution) {
        out.put(name, new Family(name, type, labels.get(name)));
      }
    });
    return out;
  }

  private static String familyOf(String sample, Map<String, String> types) {
    if (types.containsKey(sample)) {
      return sample;
    }
    for (String suffix : new String[] {"_bucket", "_count", "_sum"}) {
      if (sample.endsWith(suffix)) {
        String base = sample.substring(0, sample.length() - suffix.length());
        if (types.containsKey(base)) {
          return base;
        }
      }
    }
    return sample;
  }

  /** The families {@code docs/metrics.md} lists, by name. */
  static Map<String, Family> read(Path markdown) throws IOException {
    Map<String, Family> out = new TreeMap<>();
    for (String line : Files.readAllLines(markdown)) {
      Matcher row = ROW.matcher(line);
      if (!row.matches()) {
        continue;
      }
      Set<String> labels = new TreeSet<>();
      Matcher label = BACKTICKED.matcher(row.group(3));
      while (label.find()) {
        labels.add(label.group(1));
      }
      Family family = new Family(row.group(1), row.group(2).trim(), labels);
      if (out.put(family.name(), family) != null) {
        throw new IllegalStateException(markdown + " lists " + family.name() + " twice");
      }
    }
    return out;
  }
}
