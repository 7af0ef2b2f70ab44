package dev.funnel.bench;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The idle-tunnel figure of a path: memory per tunnel held open and idle, from {@code /proc} (RSS)
 * and, for JVMs, the live heap after a full collection ({@code jcmd}).
 */
final class IdleTunnels {

  private static final Pattern HEAP_USED = Pattern.compile("total \\d+K, used (\\d+)K");

  private final LoadClient client;
  private final Suite.Plan plan;

  IdleTunnels(LoadClient client, Suite.Plan plan) {
    this.client = client;
    this.plan = plan;
  }

  /**
   * Opens {@link Suite.Plan#idleTunnels()} tunnels that stay idle, reads the path's memory before and
   * 2 s after, puts {@code rss_kib_per_idle_tunnel} into {@code figures} (null for a path without
   * processes of its own) and how it was obtained into {@code details}, then closes them.
   */
  void measure(Ingress path, LoadClient.Target target, JsonObject figures, JsonObject details) throws Exception {
    if (path.processes().isEmpty()) {
      figures.putNull("rss_kib_per_idle_tunnel");
      return;
    }
    // A few below the path's own per-node bound (the node's pooled connections count too).
    int asked = Math.min(plan.idleTunnels(), path.maxTunnels() - 24);
    Map<String, Long> heapBefore = collect(path);
    Map<String, Long> before = path.rssKib();
    Suite.log(path, "opening " + asked + " idle tunnels");
    LoadClient.Batch opened = client.many(asked, plan.idleConcurrency(), plan.idleBudgetMillis(), 600_000,
        () -> client.exchange(target, 1, true, 60_000));
    // The "2 s after opening" of idle_memory_method: the last tunnels' buffers and pool refills settle.
    Thread.sleep(2000);
    Map<String, Long> heapAfter = collect(path);
    Map<String, Long> after = path.rssKib();
    int open = 0;
    for (LoadClient.Conn c : opened.done()) {
      if (c.channel.isActive()) {
        open++;
      }
    }
    // With the heap pinned and pre-touched (-Xms = -Xmx, AlwaysPreTouch) its pages are resident
    // before and after, so RSS grows by off-heap memory only; the live heap's growth (after a full
    // GC) is added. Otherwise RSS alone, which then also swings with how much heap G1 keeps committed.
    boolean pinned = path.heapPinned();
    long delta = 0;
    JsonObject perProcess = new JsonObject();
    for (String label : before.keySet()) {
      long rss = after.getOrDefault(label, 0L) - before.get(label);
      long heap = heapAfter.getOrDefault(label, 0L) - heapBefore.getOrDefault(label, 0L);
      long d = pinned ? rss + heap : rss;
      delta += d;
      JsonObject p = new JsonObject().put("rss_before_kib", before.get(label))
          .put("rss_after_kib", after.getOrDefault(label, 0L));
      if (path.isJvm()) {
        p.put("live_heap_before_kib", heapBefore.get(label)).put("live_heap_after_kib", heapAfter.get(label));
      }
      perProcess.put(label, p.put("kib_per_tunnel", open == 0 ? null : Stats.round((double) d / open, 3)));
    }
    figures.put("rss_kib_per_idle_tunnel", open == 0 ? null : Stats.round((double) delta / open, 3));
    details.put("idle_tunnels_asked", asked)
        .put("idle_tunnels_open", open)
        .put("idle_failures", opened.failed())
        .put("idle_memory_by_process", perProcess)
        .put("idle_memory_method", !path.isJvm()
            ? "VmRSS (worker processes included) before and 2 s after opening; (after - before) / open tunnels"
            : pinned
                ? "heap pinned and pre-touched: (VmRSS growth, i.e. off-heap) + (live heap growth after"
                    + " `jcmd PID GC.run`), before and 2 s after opening, / open tunnels"
                : "VmRSS after `jcmd PID GC.run`, before and 2 s after opening; (after - before) / open tunnels");
    if (opened.firstFailure() != null) {
      details.put("idle_first_failure", opened.firstFailure());
    }
    Suite.log(path, open + " idle tunnels open; closing them");
    for (LoadClient.Conn c : opened.done()) {
      c.channel.close();
    }
    for (LoadClient.Conn c : opened.done()) {
      c.channel.closeFuture().await(10, TimeUnit.SECONDS);
    }
    Thread.sleep(1000);
  }

  /**
   * Full GC in each JVM of the path, so memory figures are not garbage still waiting to be
   * collected; returns each JVM's live heap in KiB afterwards (empty for other paths).
   */
  private static Map<String, Long> collect(Ingress path) throws InterruptedException {
    Map<String, Long> used = new LinkedHashMap<>();
    if (path.isJvm()) {
      for (Map.Entry<String, Long> e : path.processes().entrySet()) {
        String pid = String.valueOf(e.getValue());
        try {
          Child.run(List.of("jcmd", pid, "GC.run"), Map.of(), 60_000);
          trimNativeHeap(pid);
          used.put(e.getKey(), heapUsedKib(Child.run(List.of("jcmd", pid, "GC.heap_info"), Map.of(), 60_000)));
        } catch (IOException err) {
          System.err.println("bench: jcmd on " + pid + " failed: " + err.getMessage());
        }
      }
    }
    Thread.sleep(1000);
    return used;
  }

  /**
   * Live heap in KiB from {@code jcmd PID GC.heap_info}: the sum over its generations (the serial and
   * parallel collectors print a young and an old one, G1 one heap).
   */
  static long heapUsedKib(String heapInfo) {
    long sum = 0;
    Matcher m = HEAP_USED.matcher(heapInfo);
    while (m.find()) {
      sum += Long.parseLong(m.group(1));
    }
    return sum;
  }

  /**
   * Hands glibc's freed memory back to the system ({@code System.trim_native_heap}, JDK 17.0.9 and
   * later), so both readings see the same state whatever {@code -XX:TrimNativeHeapInterval} did in
   * between. A JVM without the command is left alone.
   */
  private static void trimNativeHeap(String pid) {
    try {
      Child.run(List.of("jcmd", pid, "System.trim_native_heap"), Map.of(), 60_000);
    } catch (IOException e) {
      // older JVM
    }
  }
}
