package dev.funnel.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.funnel.common.net.HostPort;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The checks made before a long-running command creates anything: each failure one line that says what to do. */
class PreflightTest {

  @TempDir
  Path tmp;

  @Test
  void aBusyAddressIsAnsweredWithTheFlagAsTheCommandSpellsIt() throws Exception {
    try (ServerSocket busy = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      HostPort taken = new HostPort("127.0.0.1", busy.getLocalPort());
      // funnel demo: --public HOST:PORT
      assertThatThrownBy(() -> Preflight.free("--public", taken, false))
          .isInstanceOf(Processes.Failure.class)
          .hasMessageStartingWith("--public " + taken + ": ")
          .hasMessageEndingWith("pick a free address with --public HOST:PORT");
      // funnel server and frontend: --public PORT=HOST:PORT
      assertThatThrownBy(() -> Preflight.free(Map.of(8443, taken)))
          .hasMessageStartingWith("--public 8443=" + taken + ": ")
          .hasMessageEndingWith("pick a free address with --public 8443=HOST:PORT");
      assertThatThrownBy(() -> Preflight.free("--admin-listen", taken, false))
          .hasMessageEndingWith("pick a free address with --admin-listen HOST:PORT");
    }
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "funnel.localhost       | funnel.localhost",
      "Funnel.Example.COM     | funnel.example.com",
      "funnel.example.com.    | funnel.example.com",
      "localhost              | localhost"})
  void aDomainIsTakenLowerCase(String given, String domain) {
    assertThat(Preflight.domain("--domain", given)).isEqualTo(domain);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {"Bad_Domain", "-x.example", "example..com", "'a b'", "127.0.0.1", "''", "é.example"})
  void aBadDomainIsAUsageError(String domain) {
    assertThatThrownBy(() -> Preflight.domain("--domain", domain))
        .isInstanceOfSatisfying(Processes.Failure.class, f -> assertThat(f.exitCode).isEqualTo(2))
        .hasMessage("--domain " + domain + ": not a domain name (labels of a-z, 0-9 and '-' joined by dots, e.g."
            + " funnel.example.com); pick another with --domain DOMAIN");
  }

  @Test
  void aStateDirectoryThatCanBeMadeIsCheckedByMakingItAndLeftUnmade() {
    Path state = tmp.resolve("a").resolve("b").resolve("state");
    Preflight.writable("--state", state);
    assertThat(tmp.resolve("a")).doesNotExist();
  }

  @Test
  void aStateDirectoryThatCannotBeMadeSaysWhy() {
    assumeTrue(Files.isDirectory(Path.of("/proc/self")), "Linux /proc");
    assertThatThrownBy(() -> Preflight.writable("--state", Path.of("/proc/qa")))
        .isInstanceOf(Processes.Failure.class)
        .hasMessageStartingWith("--state /proc/qa: cannot")
        .hasMessageEndingWith("DIR");
    assertThat(Path.of("/proc/qa")).doesNotExist();
  }

  @Test
  void aStateDirectoryUnderAFileSaysSo() throws Exception {
    Path file = Files.writeString(tmp.resolve("file"), "x");
    assertThatThrownBy(() -> Preflight.writable("--state", file.resolve("state")))
        .hasMessage("--state " + file.resolve("state") + ": " + file + " is not a directory; pick a directory with --state DIR");
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "denied  | /srv/x: permission denied",
      "missing | /srv/x: no such file or directory",
      "reason  | /srv/x: Read-only file system"})
  void aFileSystemFailureSaysWhatAndWhy(String kind, String described) {
    FileSystemException e = switch (kind) {
      case "denied" -> new AccessDeniedException("/srv/x");
      case "missing" -> new NoSuchFileException("/srv/x");
      default -> new FileSystemException("/srv/x", null, "Read-only file system");
    };
    assertThat(Processes.describe(new java.io.UncheckedIOException(e))).isEqualTo(described);
  }
}
