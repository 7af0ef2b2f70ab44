package dev.funnel.registry.store;

import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;

/**
 * Run in a child JVM by {@link CrashSafetyTest}: adds tailnets t0, t1, … to the store in
 * {@code args[0]} as fast as it can, printing each name once its insert has returned.
 */
public final class CrashWriter {

  private CrashWriter() {
  }

  public static void main(String[] args) {
    try (H2ControlStore store = H2ControlStore.open(Path.of(args[0]))) {
      System.out.println("open");
      System.out.flush();
      for (int i = 0; ; i++) {
        store.insertTailnet(new Tailnet("t" + i, i % 2 == 0, List.of(443), Instant.now().truncatedTo(ChronoUnit.MILLIS)));
        System.out.println("t" + i);
        System.out.flush();
      }
    }
  }
}
