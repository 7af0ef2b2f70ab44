package dev.funnel.bench;

import java.io.File;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Load for a path held with {@code --hold}, from the runner's own client, for profiling by hand
 * (async-profiler, perf) between rounds that print what the bench would measure:
 *
 * <ul>
 *   <li>{@code tunnels PORT SNI CA_PEM COUNT ROUNDS CONCURRENCY [PID …]}: new tunnels as the
 *       new-tunnels run (concurrency 16) or the latency run (1) opens them, COUNT per round; each
 *       round's rate, failures, setup p50 / p99 / max and CPU µs per tunnel of each PID (with the part
 *       spent in the kernel), and with
 *       concurrency 1 when (ms into the round) the samples above p99 started, to tell periodic
 *       stalls from random ones.</li>
 *   <li>{@code https PORT SNI CA_PEM SECONDS ROUNDS [PID …]}: the HTTPS run's keep-alive load (32
 *       connections, new ones each round, 2 s before counting); requests per second and CPU µs per
 *       request of each PID, kernel part included (the whole round over the responses counted: an upper bound).</li>
 *   <li>{@code bulk PORT SNI CA_PEM STREAMS MIB ROUNDS [PID …]}: the bulk runs' downloads, STREAMS
 *       tunnels at once, MIB MiB each; each round's MiB/s (first request to last byte) and CPU
 *       seconds per GiB of each PID.</li>
 * </ul>
 *
 * One client serves every round, so warm it with a few rounds first: its JIT competes for the cores.
 */
final class HeldLoad {

  private HeldLoad() {
  }

  static int main(String command, String[] args) throws Exception {
    boolean tunnels = command.equals("tunnels");
    boolean bulk = command.equals("bulk");
    if (args.length < (tunnels || bulk ? 6 : 5)) {
      System.err.println("usage: java -cp bench/target/funnel-bench.jar dev.funnel.bench.BenchMain "
          + (tunnels ? "tunnels PORT SNI CA_PEM COUNT ROUNDS CONCURRENCY [PID …]"
          : bulk ? "bulk PORT SNI CA_PEM STREAMS MIB ROUNDS [PID …]"
          : "https PORT SNI CA_PEM SECONDS ROUNDS [PID …]"));
      return 2;
    }
    LoadClient.Target target = new LoadClient.Target(Integer.parseInt(args[0]), args[1],
        Net.client(new File(args[2])));
    int rounds = Integer.parseInt(args[bulk ? 5 : 4]);
    List<Long> pids = Arrays.stream(args).skip(tunnels || bulk ? 6 : 5).map(Long::parseLong).toList();
    int failures = 0;
    try (LoadClient client = new LoadClient(Runtime.getRuntime().availableProcessors())) {
      for (int round = 1; round <= rounds; round++) {
        double[] before = pids.stream().mapToDouble(Proc::cpuSeconds).toArray();
        double[] kernelBefore = pids.stream().mapToDouble(Proc::systemCpuSeconds).toArray();
        failures += bulk
            ? bulkRound(client, target, round, Integer.parseInt(args[3]), Long.parseLong(args[4]), pids, before)
            : tunnels
            ? tunnelRound(client, target, round, Integer.parseInt(args[3]), Integer.parseInt(args[5]), pids, before,
                kernelBefore)
            : httpsRound(client, target, round, Double.parseDouble(args[3]), pids, before, kernelBefore);
      }
    }
    return failures == 0 ? 0 : 1;
  }

  private static int tunnelRound(LoadClient client, LoadClient.Target target, int round, int count, int concurrency,
                                 List<Long> pids, double[] before, double[] kernelBefore)
      throws InterruptedException {
    long started = System.nanoTime();
    LoadClient.Batch batch = client.many(count, concurrency, 300_000,
        () -> client.exchange(target, Suite.SMALL, false, 30_000));
    String cpu = cpuPer(pids, before, kernelBefore, batch.done().size());
    List<LoadClient.Conn> done = List.copyOf(batch.done());
    long[] setup = done.stream().mapToLong(LoadClient.Conn::setupNanos).toArray();
    double p99 = Stats.percentileMillis(setup, 99);
    System.out.printf("round %d: %d tunnels, %.0f per s, %d failed%s; setup p50 %.3f p99 %.3f max %.3f ms;%s%n",
        round, done.size(), Stats.perSecond(done.size(), batch.elapsedNanos()), batch.failed(),
        batch.firstFailure() == null ? "" : " (first: " + batch.firstFailure() + ")",
        Stats.percentileMillis(setup, 50), p99, Stats.percentileMillis(setup, 100), cpu);
    if (concurrency == 1) {
      StringBuilder slow = new StringBuilder("  above p99 (started ms into the round: setup ms):");
      done.stream().filter(c -> c.setupNanos() / 1e6 > p99).sorted(Comparator.comparingLong(c -> c.start))
          .forEach(c -> slow.append(String.format(" %d:%.2f", (c.start - started) / 1_000_000, c.setupNanos() / 1e6)));
      System.out.println(slow);
    }
    return batch.failed();
  }

  private static int bulkRound(LoadClient client, LoadClient.Target target, int round, int streams, long mib,
                               List<Long> pids, double[] before) throws InterruptedException {
    long bytes = mib << 20;
    long timeout = 30_000 + streams * mib * 1000;
    LoadClient.Batch batch = client.many(streams, streams, timeout + 30_000,
        () -> client.exchange(target, bytes, false, timeout));
    long received = batch.bytesReceived();
    StringBuilder cpu = new StringBuilder();
    for (int i = 0; i < pids.size(); i++) {
      cpu.append(String.format(" pid %d %.3f s/GiB", pids.get(i),
          (Proc.cpuSeconds(pids.get(i)) - before[i]) * (1 << 30) / Math.max(1, received)));
    }
    System.out.printf("round %d: %d x %d MiB, %.0f MiB/s, %d failed;%s%n", round, streams, mib,
        batch.mibPerSecond(), batch.failed(), cpu);
    return batch.failed();
  }

  private static int httpsRound(LoadClient client, LoadClient.Target target, int round, double seconds,
                                List<Long> pids, double[] before, double[] kernelBefore) throws InterruptedException {
    LoadClient.HttpResult r = client.http(target, 32, 2, seconds, 120_000);
    System.out.printf("round %d: %.0f requests/s, %d errors;%s%n", round, r.requestsPerSecond(), r.errors(),
        cpuPer(pids, before, kernelBefore, r.responses()));
    return (int) Math.min(Integer.MAX_VALUE, r.errors());
  }

  /** CPU µs of each process since {@code before}, per operation. */
  /** CPU µs per operation of each PID, and in parentheses the part of it spent in the kernel. */
  private static String cpuPer(List<Long> pids, double[] before, double[] kernelBefore, long operations) {
    StringBuilder cpu = new StringBuilder();
    for (int i = 0; i < pids.size(); i++) {
      cpu.append(String.format(" pid %d %.0f µs (kernel %.0f)", pids.get(i),
          (Proc.cpuSeconds(pids.get(i)) - before[i]) * 1e6 / Math.max(1, operations),
          (Proc.systemCpuSeconds(pids.get(i)) - kernelBefore[i]) * 1e6 / Math.max(1, operations)));
    }
    return cpu.toString();
  }
}
