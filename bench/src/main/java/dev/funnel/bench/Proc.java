package dev.funnel.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/** Reads CPU time and resident memory of processes from {@code /proc} (Linux). */
final class Proc {

  /** Clock ticks per second of {@code /proc/PID/stat}'s utime and stime (USER_HZ; 100 on Linux/x86). */
  static final long TICKS_PER_SECOND = ticksPerSecond();

  private Proc() {
  }

  /** {@code pid} and every descendant still alive (nginx's workers, say). */
  static List<Long> withDescendants(long pid) {
    List<Long> all = new ArrayList<>();
    all.add(pid);
    ProcessHandle.of(pid).ifPresent(p -> p.descendants().forEach(d -> all.add(d.pid())));
    return all;
  }

  /** User plus system CPU seconds used so far by {@code pid} (0 for a process that is gone). */
  static double cpuSeconds(long pid) {
    return cpuSecondsOf(Path.of("/proc/" + pid + "/stat"));
  }

  /** System (kernel) CPU seconds used so far by {@code pid}: the part of {@link #cpuSeconds} spent in the kernel. */
  static double systemCpuSeconds(long pid) {
    return ticks(Path.of("/proc/" + pid + "/stat"))[1] / (double) TICKS_PER_SECOND;
  }

  /** utime + stime of a process's or a thread's {@code stat} file, in seconds (0 when unreadable). */
  private static double cpuSecondsOf(Path statFile) {
    long[] t = ticks(statFile);
    return (t[0] + t[1]) / (double) TICKS_PER_SECOND;
  }

  /** utime and stime of a {@code stat} file, in clock ticks (zeros when unreadable). */
  private static long[] ticks(Path statFile) {
    try {
      String stat = Files.readString(statFile);
      // The command name (field 2) may contain spaces; the fields after its closing paren are fixed.
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
      return new long[] {Long.parseLong(f[11]), Long.parseLong(f[12])};
    } catch (IOException | RuntimeException e) {
      return new long[2];
    }
  }

  /**
   * User plus system CPU seconds used so far by each thread of {@code pid} whose name starts with
   * {@code namePrefix}, by name ({@code /proc/PID/task/TID/comm}: at most 15 characters; Funnel's
   * data-plane loops are {@code funnel-data-P-N}). Empty for a process that is gone.
   */
  static Map<String, Double> threadCpuSeconds(long pid, String namePrefix) {
    Map<String, Double> byThread = new TreeMap<>();
    try (Stream<Path> tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
      for (Path task : (Iterable<Path>) tasks::iterator) {
        try {
          String name = Files.readString(task.resolve("comm")).trim();
          if (name.startsWith(namePrefix)) {
            byThread.merge(name, cpuSecondsOf(task.resolve("stat")), Double::sum);
          }
        } catch (IOException | RuntimeException e) {
          // the thread ended meanwhile
        }
      }
    } catch (IOException | RuntimeException e) {
      // gone
    }
    return byThread;
  }

  /** CPU seconds summed over several processes. */
  static double cpuSeconds(List<Long> pids) {
    double sum = 0;
    for (long pid : pids) {
      sum += cpuSeconds(pid);
    }
    return sum;
  }

  /** System (kernel) CPU seconds summed over several processes. */
  static double systemCpuSeconds(List<Long> pids) {
    double sum = 0;
    for (long pid : pids) {
      sum += systemCpuSeconds(pid);
    }
    return sum;
  }

  /** Resident set size of {@code pid} in KiB ({@code VmRSS}); 0 for a process that is gone. */
  static long rssKib(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException | RuntimeException e) {
      // gone
    }
    return 0;
  }

  /** This process's soft limit of open files (children inherit it). */
  static long openFilesLimit() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
        if (line.startsWith("Max open files")) {
          return Long.parseLong(line.substring(26).trim().split("\\s+")[0]);
        }
      }
    } catch (IOException | RuntimeException e) {
      // fall through
    }
    return 4096;
  }

  static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split(" ");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException e) {
      return "?";
    }
  }

  /** The first "model name" of /proc/cpuinfo. */
  static String cpuModel() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          return line.substring(line.indexOf(':') + 1).trim();
        }
      }
    } catch (IOException e) {
      // fall through
    }
    return "?";
  }

  static String kernel() {
    try {
      return Files.readString(Path.of("/proc/sys/kernel/osrelease")).trim();
    } catch (IOException e) {
      return System.getProperty("os.version");
    }
  }

  private static long ticksPerSecond() {
    try {
      Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes()).trim();
      p.waitFor();
      return Long.parseLong(out);
    } catch (IOException | RuntimeException e) {
      return 100;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 100;
    }
  }
}
