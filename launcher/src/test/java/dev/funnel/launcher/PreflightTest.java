package dev.funnel.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.funnel.common.net.HostPort;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The checks made before a long-running command creates anything: each failure one line that says what to do. */
class PreflightTest {

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
}
