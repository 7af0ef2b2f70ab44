package dev.funnel.bench;

import io.vertx.core.json.JsonObject;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * CPU seconds of each data-plane loop thread ({@code funnel-data-…}) of each of a path's
 * processes, summed over the phases given to {@link #add}: whether bulk streams spread over every
 * loop of each process.
 */
final class LoopCpu {

  /** One reading: process label → loop thread name → CPU seconds so far. */
  record Reading(Map<String, Map<String, Double>> byProcess) {
  }

  private final Map<String, Map<String, Double>> sum = new LinkedHashMap<>();

  /** CPU seconds so far of each loop thread of each of the path's processes (empty unless Funnel's JVMs). */
  static Reading read(Ingress path) {
    Map<String, Map<String, Double>> all = new LinkedHashMap<>();
    if (path.isJvm()) {
      path.processes().forEach((label, pid) -> all.put(label, Proc.threadCpuSeconds(pid, "funnel-data")));
    }
    return new Reading(all);
  }

  /** Adds {@code after − before} per process and loop. */
  void add(Reading before, Reading after) {
    after.byProcess().forEach((process, loops) -> loops.forEach((loop, seconds) -> {
      double used = seconds - before.byProcess().getOrDefault(process, Map.of()).getOrDefault(loop, 0.0);
      sum.computeIfAbsent(process, p -> new TreeMap<>()).merge(loop, used, Double::sum);
    }));
  }

  /** process → {loop → seconds, to the millisecond}. */
  JsonObject toJson() {
    JsonObject byProcess = new JsonObject();
    sum.forEach((process, loops) -> {
      JsonObject seconds = new JsonObject();
      loops.forEach((loop, used) -> seconds.put(loop, Stats.round(used, 3)));
      byProcess.put(process, seconds);
    });
    return byProcess;
  }
}
