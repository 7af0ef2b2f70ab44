package dev.funnel.test;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The real {@code dig} (Debian's dnsutils) against a DNS server on 127.0.0.1, without recursion, one
 * try of at most 5 s, and what the tests read from its text output.
 */
final class Dig {

  private Dig() {
  }

  /** dig's output for {@code name} {@code type} asked of 127.0.0.1:{@code port}, with {@code extra} options. */
  static String ask(int port, String name, String type, String... extra) throws Exception {
    List<String> command = new ArrayList<>(List.of("dig", "@127.0.0.1", "-p", String.valueOf(port), "+norec",
        "+tries=1", "+time=5", name, type));
    command.addAll(List.of(extra));
    return Exec.run(command).output();
  }

  /** Asks until {@code done} holds (the server's data changes on its own time); at most 30 s, then fails. */
  static String until(int port, String name, String type, Predicate<String> done) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    String out = ask(port, name, type);
    while (!done.test(out) && System.nanoTime() < deadline) {
      Thread.sleep(200);
      out = ask(port, name, type);
    }
    assertThat(done.test(out)).as(name + " " + type + ":\n" + out).isTrue();
    return out;
  }

  /** The last field of each answer-section record (A/AAAA data; a CAA's value). */
  static List<String> answers(String digOutput) {
    List<String> out = new ArrayList<>();
    boolean inAnswer = false;
    for (String line : digOutput.lines().toList()) {
      if (line.startsWith(";; ANSWER SECTION:")) {
        inAnswer = true;
        continue;
      }
      if (inAnswer && (line.isBlank() || line.startsWith(";;"))) {
        inAnswer = false;
      }
      if (inAnswer) {
        String[] fields = line.split("\\s+");
        out.add(fields[fields.length - 1]);
      }
    }
    return out;
  }
}
