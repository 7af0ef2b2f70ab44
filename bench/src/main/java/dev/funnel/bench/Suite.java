package dev.funnel.bench;

import io.netty.handler.ssl.SslContext;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The measurements every path gets, in one order: sanity check and warm-up, bulk throughput (one
 * stream, eight streams), new-tunnel rate, setup latency, idle tunnels. Each figure goes into the
 * path's entry of {@code paths}; how it was obtained (repetitions, failures, CPU by process, memory
 * before and after) into {@code details}.
 */
final class Suite {

  static final double GIB = 1024.0 * 1024 * 1024;
  static final long MIB = 1024 * 1024;

  /** How much of everything: the default run, or {@code --quick}. */
  record Plan(boolean quick, double warmSeconds, long warmBytes, long bulk1Bytes, long bulk8BytesEach, int warmTunnels,
              int tunnels, long tunnelBudgetMillis, int tunnelConcurrency, int latencySamples, int idleTunnels,
              long idleBudgetMillis, int idleConcurrency, int reps, double httpSeconds, double httpWarmSeconds,
              int httpConnections) {

    static Plan of(boolean quick, int idleCap) {
      return quick
          ? new Plan(true, 8, 64 * MIB, 128 * MIB, 16 * MIB, 300, 500, 5_000, 16, 300, Math.min(1000, idleCap), 15_000,
              32, 1, 3, 6, 32)
          : new Plan(false, 60, 256 * MIB, 1024 * MIB, 128 * MIB, 500, 3000, 12_000, 16, 2000,
              Math.min(10_000, idleCap), 60_000, 32, 2, 10, 20, 32);
    }

    /**
     * The HTTPS warm-up of a path: nginx's, or three times as long for Funnel's fresh JVMs (as the
     * new-tunnel paths warm haproxy and nginx a third of the JVMs' time). Profiled 13 s into a 20 s
     * warm-up, C2 was still 44 % of the node's CPU, and the first counted run came out at 58–63 % of
     * the second.
     */
    double httpWarmSeconds(boolean jvm) {
      return jvm ? 3 * httpWarmSeconds : httpWarmSeconds;
    }

    JsonObject toJson() {
      return new JsonObject()
          .put("quick", quick)
          .put("bulk_1stream_bytes", bulk1Bytes)
          .put("bulk_8stream_bytes_total", 8 * bulk8BytesEach)
          .put("warmup_seconds_at_least", warmSeconds + " on the first path and paths with JVMs, a third of it on"
              + " haproxy, haproxy-tunnel and nginx")
          .put("warmup_round", warmBytes + " bytes over 8 streams, then " + warmTunnels + " tunnels")
          .put("tunnels_per_run_at_most", tunnels)
          .put("tunnel_concurrency", tunnelConcurrency)
          .put("tunnel_time_budget_s", tunnelBudgetMillis / 1000.0)
          .put("idle_time_budget_s", idleBudgetMillis / 1000.0)
          .put("latency_samples", latencySamples)
          .put("idle_tunnels", idleTunnels)
          .put("repetitions_of_bulk_and_tunnel_rate", reps)
          .put("https_seconds", httpSeconds)
          .put("https_warmup_seconds", httpWarmSeconds(false) + " for nginx, " + httpWarmSeconds(true)
              + " for Funnel's JVMs")
          .put("https_connections", httpConnections)
          .put("tunnels_after_start", "Funnel paths: " + AFTER_START_MILLIS / 1000 + " s after the node process"
              + " started (the server a few seconds before), new tunnels for " + AFTER_START_WINDOW_MILLIS / 1000.0
              + " s, " + tunnelConcurrency + " at a time, before the warm-up")
          .put("small_response_bytes", SMALL);
    }
  }

  static final int SMALL = 128;
  /** The new-tunnel rate soon after a start is measured this long after the path's last process started. */
  static final long AFTER_START_MILLIS = 10_000;
  /** ... for this long (the tunnels started in this window count). */
  static final long AFTER_START_WINDOW_MILLIS = 3_000;

  private final LoadClient client;
  private final Plan plan;
  private final long backendPid;
  private boolean first = true;

  Suite(LoadClient client, Plan plan, long backendPid) {
    this.client = client;
    this.plan = plan;
    this.backendPid = backendPid;
  }

  /** Everything for one path: {@code [figures, details]}. */
  JsonObject[] measure(Ingress path, SslContext tls) throws Exception {
    LoadClient.Target target = new LoadClient.Target(path.port(), path.serverName(), tls);
    JsonObject figures = new JsonObject();
    JsonObject details = new JsonObject().put("load_average_before", Proc.loadAverage());
    if (path.note() != null) {
      details.put("configuration", path.note());
    }
    details.put("processes", new JsonObject(new LinkedHashMap<>(path.processes())));

    Double afterStart = path.isJvm() && path.freshSinceNanos() != 0 ? tunnelsAfterStart(path, target, details) : null;

    // JIT compilers need a while: the Funnel JVMs on their path, the client and backend on the first path.
    double warmSeconds = path.isJvm() || first ? plan.warmSeconds() : plan.warmSeconds() / 3;
    first = false;
    log(path, "sanity check, then warm-up for " + warmSeconds + " s (JIT compilers settle)");
    check(client.many(1, 1, 30_000, () -> client.exchange(target, SMALL, false, 30_000)), "first exchange");
    details.put("warmup_rounds", warm(target, warmSeconds, "warm-up tunnels"));

    bulkRetries.clear();
    // Bulk throughput; CPU of every process over all bulk runs.
    CpuMeter bulkCpu = CpuMeter.start(path, backendPid);
    List<Double> one = new ArrayList<>();
    List<Double> eight = new ArrayList<>();
    LoopCpu eightByLoop = new LoopCpu();
    long moved = 0;
    for (int rep = 0; rep < plan.reps(); rep++) {
      log(path, "bulk, 1 stream of " + plan.bulk1Bytes() / MIB + " MiB");
      Bulk b1 = bulk(target, 1, plan.bulk1Bytes());
      one.add(b1.mibPerSecond);
      moved += b1.bytes;
      log(path, "bulk, 8 streams of " + plan.bulk8BytesEach() / MIB + " MiB");
      LoopCpu.Reading loopsBefore = LoopCpu.read(path);
      Bulk b8 = bulk(target, 8, plan.bulk8BytesEach());
      eightByLoop.add(loopsBefore, LoopCpu.read(path));
      eight.add(b8.mibPerSecond);
      moved += b8.bytes;
    }
    Map<String, Double> cpu = bulkCpu.stop();
    double gib = moved / GIB;
    figures.put("throughput_1stream_mib_s", best(one));
    figures.put("throughput_8stream_mib_s", best(eight));
    double pathAndBackend = cpu.get("path") + cpu.get("backend");
    figures.put("cpu_s_per_gib", Stats.round(pathAndBackend / gib, 3));
    details.put("throughput_1stream_runs_mib_s", rounded(one))
        .put("throughput_8stream_runs_mib_s", rounded(eight))
        .put("bulk_gib_moved", Stats.round(gib, 4))
        .put("cpu_s_per_gib_path_only", Stats.round(cpu.get("path") / gib, 3))
        .put("cpu_s_per_gib_backend", Stats.round(cpu.get("backend") / gib, 3))
        .put("cpu_s_per_gib_client", Stats.round(cpu.get("client") / gib, 3))
        .put("cpu_s_per_gib_by_process", perGib(bulkCpu.byProcess(), gib))
        .put("bulk_client_cpu_cores", Stats.round(cpu.get("client") / cpu.get("wall"), 3))
        .put("bulk_path_cpu_cores", Stats.round(cpu.get("path") / cpu.get("wall"), 3))
        .put("bulk_backend_cpu_cores", Stats.round(cpu.get("backend") / cpu.get("wall"), 3))
        .put("bulk_runs_repeated_after_a_failure", new JsonArray(new ArrayList<>(bulkRetries)));
    if (path.isJvm()) {
      // Whether 8 bulk streams spread over every data-plane loop of each process.
      details.put("bulk_8stream_cpu_s_by_loop", eightByLoop.toJson());
    }

    // New-tunnel rate.
    List<Double> rates = new ArrayList<>();
    int tunnelsDone = 0;
    int tunnelsOpened = 0;
    int failed = 0;
    String failure = null;
    CpuMeter tunnelCpu = CpuMeter.start(path, backendPid);
    for (int rep = 0; rep < plan.reps(); rep++) {
      log(path, plan.tunnels() + " new tunnels, " + plan.tunnelConcurrency() + " at a time");
      LoadClient.Batch batch = client.many(plan.tunnels(), plan.tunnelConcurrency(), plan.tunnelBudgetMillis(),
          300_000, () -> client.exchange(target, SMALL, false, 30_000));
      rates.add(Stats.perSecond(batch.done().size(), batch.elapsedNanos()));
      tunnelsDone += batch.done().size() + batch.failed();
      tunnelsOpened += batch.done().size();
      failed += batch.failed();
      failure = failure == null ? batch.firstFailure() : failure;
    }
    Map<String, Double> tcpu = tunnelCpu.stop();
    figures.put("tunnels_per_s", best(rates));
    if (afterStart != null) {
      figures.put("tunnels_per_s_after_start", afterStart);
      figures.put("warmup_ratio", warmupRatio(afterStart, best(rates)));
    }
    // CPU of the path's own processes (not the client, not the backend) per tunnel opened in this phase.
    figures.put("cpu_us_per_tunnel", cpuMicrosPerTunnel(path, tcpu.get("path"), tunnelsOpened));
    details.put("tunnels_per_s_runs", rounded(rates))
        .put("tunnel_failures", failed)
        .put("tunnel_client_cpu_cores", Stats.round(tcpu.get("client") / tcpu.get("wall"), 3))
        .put("tunnel_path_cpu_cores", Stats.round(tcpu.get("path") / tcpu.get("wall"), 3))
        .put("tunnel_backend_cpu_cores", Stats.round(tcpu.get("backend") / tcpu.get("wall"), 3))
        .put("tunnels_run", tunnelsDone)
        .put("tunnel_cpu_ms_per_tunnel_path_only", Stats.round(tcpu.get("path") * 1000 / Math.max(1, tunnelsDone), 3))
        .put("tunnel_kernel_cpu_us_per_tunnel", cpuMicrosPerTunnel(path, tcpu.get("path_kernel"), tunnelsOpened))
        .put("tunnel_cpu_ms_per_tunnel_by_process", perTunnel(tunnelCpu.byProcess(), Math.max(1, tunnelsDone)));
    if (failure != null) {
      details.put("tunnel_first_failure", failure);
    }

    // Setup latency, one connection at a time.
    log(path, plan.latencySamples() + " connections one at a time (latency)");
    LoadClient.Batch lat = client.many(plan.latencySamples(), 1, 600_000,
        () -> client.exchange(target, SMALL, false, 30_000));
    long[] setup = lat.done().stream().mapToLong(LoadClient.Conn::setupNanos).toArray();
    long[] whole = lat.done().stream().mapToLong(c -> c.lastByte - c.start).toArray();
    long[] connect = lat.done().stream().mapToLong(c -> c.helloSent - c.start).toArray();
    figures.put("setup_p50_ms", ms(Stats.percentileMillis(setup, 50)));
    figures.put("setup_p99_ms", ms(Stats.percentileMillis(setup, 99)));
    figures.put("setup_p999_ms", ms(Stats.percentileMillis(setup, 99.9)));
    details.put("latency_samples", setup.length)
        .put("latency_failures", lat.failed())
        .put("tcp_connect_p50_ms", ms(Stats.percentileMillis(connect, 50)))
        .put("connect_to_response_p50_ms", ms(Stats.percentileMillis(whole, 50)))
        .put("connect_to_response_p99_ms", ms(Stats.percentileMillis(whole, 99)))
        .put("setup_max_ms", ms(Stats.percentileMillis(setup, 100)));

    // Idle tunnels.
    new IdleTunnels(client, plan).measure(path, target, figures, details);
    details.put("load_average_after", Proc.loadAverage());
    return new JsonObject[] {figures, details};
  }

  /** Warm-up of the load client alone, against {@code direct}, when no path before a Funnel path does it. */
  void warmClient(Ingress direct, SslContext tls) throws Exception {
    LoadClient.Target target = new LoadClient.Target(direct.port(), direct.serverName(), tls);
    double seconds = plan.warmSeconds() / 3;
    log(direct, String.format(java.util.Locale.ROOT,
        "warm-up of the load client for %.1f s (direct is not in this run)", seconds));
    warm(target, seconds, "client warm-up tunnels");
    first = false;
  }

  /**
   * Warm-up rounds (the plan's warm-up bytes over 8 streams, then new tunnels) for at least
   * {@code seconds}; how many ran.
   */
  private int warm(LoadClient.Target target, double seconds, String what) throws Exception {
    long until = System.nanoTime() + (long) (seconds * 1e9);
    int rounds = 0;
    do {
      bulk(target, 8, plan.warmBytes() / 8);
      check(client.many(plan.warmTunnels(), plan.tunnelConcurrency(), 120_000,
          () -> client.exchange(target, SMALL, false, 30_000)), what);
      rounds++;
    } while (System.nanoTime() < until);
    return rounds;
  }

  /**
   * New tunnels per second soon after a fresh start: waits until {@link #AFTER_START_MILLIS} after the
   * path's last process started (a node that took longer to get ready is measured at once, and its
   * age recorded), then opens tunnels for {@link #AFTER_START_WINDOW_MILLIS}, as the new-tunnel runs do.
   */
  private Double tunnelsAfterStart(Ingress path, LoadClient.Target target, JsonObject details) throws Exception {
    long waitNanos = path.freshSinceNanos() + TimeUnit.MILLISECONDS.toNanos(AFTER_START_MILLIS) - System.nanoTime();
    if (waitNanos > 0) {
      log(path, "new tunnels " + AFTER_START_MILLIS / 1000 + " s after the start, in "
          + Math.round(waitNanos / 1e9) + " s");
      TimeUnit.NANOSECONDS.sleep(waitNanos);
    }
    double age = (System.nanoTime() - path.freshSinceNanos()) / 1e9;
    CpuMeter cpu = CpuMeter.start(path, backendPid);
    LoadClient.Batch batch = client.many(AFTER_START_CAP, plan.tunnelConcurrency(), AFTER_START_WINDOW_MILLIS,
        60_000, () -> client.exchange(target, SMALL, false, 30_000));
    Map<String, Double> c = cpu.stop();
    // Four significant digits, like the warm rate (Stats.round counts significant digits, not decimals:
    // with 1, 303 tunnels/s was reported as 300).
    double rate = Stats.round(Stats.perSecond(batch.done().size(), batch.elapsedNanos()), 4);
    details.put("after_start", new JsonObject()
        .put("seconds_since_node_start", Stats.round(age, 2))
        .put("tunnels", batch.done().size())
        .put("seconds", Stats.round(batch.elapsedNanos() / 1e9, 3))
        .put("failures", batch.failed())
        .put("first_failure", batch.firstFailure())
        .put("cpu_us_per_tunnel", cpuMicrosPerTunnel(path, c.get("path"), batch.done().size()))
        .put("cpu_ms_per_tunnel_by_process", perTunnel(cpu.byProcess(), Math.max(1, batch.done().size()))));
    return rate;
  }

  /** Upper bound on the tunnels of the after-start window (its time budget ends it first). */
  private static final int AFTER_START_CAP = 50_000;

  /** Soon-after-start rate ÷ warm rate, or null when the warm rate is missing. */
  static Double warmupRatio(Double afterStart, double warm) {
    if (afterStart == null || !(warm > 0)) {
      return null;
    }
    return Stats.round(afterStart / warm, 3);
  }

  record Bulk(double mibPerSecond, long bytes) {
  }

  /** Bulk runs that failed and were run again, with why (a stalled stream says how far it got). */
  private final List<String> bulkRetries = new ArrayList<>();

  /** One bulk run; a run with a failed stream is recorded and run once more before the path fails. */
  private Bulk bulk(LoadClient.Target target, int streams, long bytesEach) throws Exception {
    try {
      return bulkOnce(target, streams, bytesEach);
    } catch (IllegalStateException e) {
      String why = streams + " x " + bytesEach / MIB + " MiB: " + e.getMessage();
      System.err.println("bench: bulk run failed, running it once more: " + why);
      bulkRetries.add(why);
      return bulkOnce(target, streams, bytesEach);
    }
  }

  private Bulk bulkOnce(LoadClient.Target target, int streams, long bytesEach) throws Exception {
    // A stream must move at least 1 MiB/s; its own timeout fires before the batch's, saying how far it got.
    long timeout = 30_000 + streams * bytesEach / MIB * 1000;
    LoadClient.Batch batch = check(client.many(streams, streams, timeout + 30_000,
        () -> client.exchange(target, bytesEach, false, timeout)), "bulk");
    return new Bulk(Stats.round(batch.mibPerSecond(), 4), batch.bytesReceived());
  }

  private static LoadClient.Batch check(LoadClient.Batch batch, String what) {
    if (batch.failed() > 0) {
      throw new IllegalStateException(what + ": " + batch.failed() + " failed, e.g. " + batch.firstFailure());
    }
    return batch;
  }

  private static double best(List<Double> runs) {
    return Stats.round(runs.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN), 4);
  }

  private static JsonArray rounded(List<Double> runs) {
    JsonArray a = new JsonArray();
    runs.forEach(r -> a.add(Stats.round(r, 4)));
    return a;
  }

  private static double ms(double value) {
    return Stats.round(value, 4);
  }

  private static JsonObject perGib(Map<String, Double> cpu, double gib) {
    JsonObject o = new JsonObject();
    cpu.forEach((label, s) -> o.put(label, Stats.round(s / gib, 3)));
    return o;
  }

  /** Null for a path without processes of its own (direct) or when no tunnel opened. */
  static Double cpuMicrosPerTunnel(Ingress path, double pathCpuSeconds, int tunnelsOpened) {
    if (path.processes().isEmpty() || tunnelsOpened == 0) {
      return null;
    }
    return Stats.round(pathCpuSeconds * 1e6 / tunnelsOpened, 4);
  }

  private static JsonObject perTunnel(Map<String, Double> cpu, int tunnels) {
    JsonObject o = new JsonObject();
    cpu.forEach((label, s) -> o.put(label, Stats.round(s * 1000 / tunnels, 3)));
    return o;
  }

  private static final long STARTED = System.nanoTime();

  static void log(Ingress path, String what) {
    long s = (System.nanoTime() - STARTED) / 1_000_000_000L;
    System.err.printf("bench: %2d:%02d %-17s %s%n", s / 60, s % 60, path.name(), what);
  }
}
