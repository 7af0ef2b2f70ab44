package dev.funnel.launcher;

import dev.funnel.common.net.HostPort;
import java.io.IOException;
import java.io.InputStream;
import java.net.BindException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

/**
 * Checks made before a long-running command creates anything (state directory, admin token,
 * Vert.x): each failure is a {@link Processes.Failure} whose message names the flag, the value
 * and what to do.
 */
final class Preflight {

  /** The lock file {@code funnel server} and {@code funnel demo} hold in their state directory. */
  static final String LOCK_FILE = "funnel.lock";

  /** Held for the life of the process: closing the channel would release the lock. */
  private static FileChannel heldLock;

  private Preflight() {
  }

  /**
   * Fails when a TCP address (and, with {@code udp}, the UDP one) given by a flag is taken.
   * {@code flag} is how the operator wrote it, e.g. {@code --admin-listen} or {@code --public 443=}.
   * Port 0 (any free port) is never taken.
   */
  static void free(String flag, HostPort address, boolean udp) {
    if (address == null || address.port() == 0) {
      return;
    }
    InetSocketAddress at = new InetSocketAddress(address.host(), address.port());
    String name = flag.endsWith("=") ? flag : flag + " ";
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(true);
      socket.bind(at);
    } catch (BindException e) {
      throw inUse(name, address, e);
    } catch (IOException e) {
      throw new Processes.Failure(name + address + ": cannot listen there (" + e.getMessage() + ")", 1);
    }
    if (udp) {
      try (DatagramSocket socket = new DatagramSocket(null)) {
        socket.setReuseAddress(false);
        socket.bind(at);
      } catch (IOException e) {
        throw inUse(name, address, e);
      }
    }
  }

  private static Processes.Failure inUse(String name, HostPort address, IOException e) {
    String why = e.getMessage() == null ? "in use" : e.getMessage().replaceAll(" \\(Bind failed\\)$", "").toLowerCase();
    // The flag as the command spells it: server's and frontend's "--public 443=HOST:PORT", demo's "--public HOST:PORT".
    return new Processes.Failure(name + address + ": " + why + " (another funnel running?); stop it or pick a free"
        + " address with " + name + "HOST:PORT", 1);
  }

  /**
   * What {@code funnel server} and {@code funnel demo} check after their public listeners: the
   * gateway, admin, metrics and DNS addresses free, then the state directory writable and locked.
   */
  static void serverStart(HostPort gatewayListen, HostPort adminListen, HostPort metricsListen, HostPort dnsListen,
                          Path state) {
    free("--gateway-listen", gatewayListen, false);
    free("--admin-listen", adminListen, false);
    free("--metrics-listen", metricsListen, false);
    free("--dns-listen", dnsListen, true);
    writable("--state", state);
    lockState(state);
  }

  /** Every {@code --public} entry. */
  static void free(Map<Integer, HostPort> publicListeners) {
    publicListeners.forEach((port, address) -> free("--public " + port + "=", address, false));
  }

  /**
   * {@code domain} (a base domain, {@code --domain}) lower-cased, as the frontend compares names with
   * it; a usage error unless it is a DNS name, checked before anything is bound or written.
   */
  static String domain(String flag, String domain) {
    return dev.funnel.common.Hostnames.normalise(domain == null ? "" : domain.trim())
        .orElseThrow(() -> new Processes.Failure(flag + " " + domain + ": not a domain name (labels of a-z, 0-9 and '-'"
            + " joined by dots, e.g. funnel.example.com); pick another with "
            + flag + " DOMAIN", 2));
  }

  /**
   * Fails unless {@code dir} is a directory this process may write, or can be created: checked
   * before anything is written, so a failure leaves nothing behind.
   */
  static void writable(String flag, Path dir) {
    Path absolute = dir.toAbsolutePath().normalize();
    Path existing = absolute;
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    String what = flag + " " + dir + ": ";
    if (existing == null) {
      throw new Processes.Failure(what + "cannot be created; pick a writable directory with " + flag + " DIR", 1);
    }
    if (!Files.isDirectory(existing)) {
      throw new Processes.Failure(what + existing + " is not a directory; pick a directory with " + flag + " DIR", 1);
    }
    if (!Files.isWritable(existing) || !Files.isExecutable(existing)) {
      throw new Processes.Failure(what + (existing.equals(absolute) ? "not writable" : "cannot be created ("
          + existing + " is not writable)") + "; fix its permissions or pick another with " + flag + " DIR", 1);
    }
    if (!existing.equals(absolute)) {
      // Permissions say yes, but only creating it tells (root may "write" /proc, a read-only mount):
      // made and removed again, so a failure later still leaves nothing behind.
      probeCreate(what, flag, existing, absolute);
    }
  }

  /** Creates the directories from below {@code existing} down to {@code dir}, then removes them again. */
  private static void probeCreate(String what, String flag, Path existing, Path dir) {
    java.util.Deque<Path> created = new java.util.ArrayDeque<>();
    try {
      for (Path next = existing.resolve(existing.relativize(dir).getName(0)); ; ) {
        Files.createDirectory(next);
        created.push(next);
        if (next.equals(dir)) {
          break;
        }
        next = next.resolve(next.relativize(dir).getName(0));
      }
    } catch (IOException e) {
      String why = e instanceof java.nio.file.FileSystemException fs
          ? (dir.toString().equals(fs.getFile()) ? Processes.reason(fs) : Processes.fileSystem(fs))
          : Processes.describe(e);
      throw new Processes.Failure(what + "cannot create the directory (" + why + "); pick a writable directory with "
          + flag + " DIR", 1);
    } finally {
      while (!created.isEmpty()) {
        try {
          Files.deleteIfExists(created.pop());
        } catch (IOException ignored) {
          // Left empty; the start creates it anyway.
        }
      }
    }
  }

  /**
   * Creates {@code state} and locks {@link #LOCK_FILE} in it for the life of the process, so a
   * second server or demo on the same directory stops with a clear line instead of the embedded
   * store's "file is locked".
   */
  static synchronized void lockState(Path state) {
    Path file = state.resolve(LOCK_FILE);
    try {
      dev.funnel.common.StateFiles.createDirectory(state);
      FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = channel.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null;
      }
      if (lock == null) {
        channel.close();
        throw new Processes.Failure("--state " + state + ": another funnel server or demo uses this state directory;"
            + " stop it or pick another with --state DIR", 1);
      }
      heldLock = channel;
    } catch (IOException e) {
      throw new Processes.Failure("--state " + state + ": cannot lock " + file + " (" + e.getMessage() + ")", 1);
    }
  }

  /** Fails (a usage error) unless {@code file} is readable and holds a PEM block of {@code kind}. */
  /**
   * The files a serve config names exist: each {@code file://} directory, each {@code --verify}
   * secret and {@code --auth} file. A missing one is a usage error (exit 2) naming the flag.
   */
  static void serve(dev.funnel.common.serve.ServeConfig serve) {
    serve.ports().values().forEach(port -> {
      checkPolicy(port.port() + "", port.policy());
      port.routes().forEach(route -> {
        String key = port.port() + (route.path().equals("/") ? "" : ":" + route.path());
        if (route.target().kind() == dev.funnel.common.options.ServeTarget.Kind.FILE) {
          Path dir = Path.of(route.target().path());
          if (!Files.isDirectory(dir)) {
            throw new Processes.Failure("--funnel " + key + "=" + route.target() + ": " + dir
                + (Files.exists(dir) ? " is not a directory" : " does not exist") + "; name a directory to serve", 2);
          }
          if (!Files.isReadable(dir) || !Files.isExecutable(dir)) {
            throw new Processes.Failure("--funnel " + key + "=" + route.target() + ": " + dir
                + " is not readable by this user", 2);
          }
        }
        checkPolicy(key, route.policy());
      });
    });
  }

  private static void checkPolicy(String key, dev.funnel.common.serve.GatePolicy policy) {
    // Read and parsed as the gates will, before anything starts: a bad file found after the login
    // would have used up a one-off auth key and enrolled the node for nothing.
    if (policy.verify() != null) {
      String what = "--verify " + key + "=" + policy.verify();
      readableFile(what, policy.verify().secretFile());
      usable(what, () -> dev.funnel.terminator.gate.WebhookGate.checkSecret(policy.verify()));
    }
    if (policy.auth() != null && policy.auth().file() != null) {
      String what = "--auth " + key + "=" + policy.auth();
      readableFile(what, policy.auth().file());
      usable(what, () -> dev.funnel.terminator.auth.LoginGates.checkFile(policy.auth()));
    }
  }

  private static void usable(String what, Runnable check) {
    try {
      check.run();
    } catch (IllegalArgumentException e) {
      throw new Processes.Failure(what + ": " + e.getMessage(), 2);
    }
  }

  private static void readableFile(String what, Path file) {
    if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
      throw new Processes.Failure(what + ": " + file + (Files.exists(file) ? " is not a readable file" : " does not exist"), 2);
    }
  }

  static void pem(String flag, Path file, String kind) {
    if (file == null) {
      return;
    }
    String what = flag + " " + file + ": ";
    if (!Files.isRegularFile(file)) {
      throw new Processes.Failure(what + (Files.exists(file) ? "not a file" : "no such file") + "; "
          + hint(flag), 2);
    }
    if (!Files.isReadable(file)) {
      throw new Processes.Failure(what + "not readable (permission denied); " + hint(flag), 2);
    }
    String text;
    try {
      byte[] bytes;
      try (InputStream in = Files.newInputStream(file)) {
        bytes = in.readNBytes(1 << 20);
      }
      text = new String(bytes, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new Processes.Failure(what + "cannot read it (" + e.getMessage() + "); " + hint(flag), 2);
    }
    boolean ok = kind.equals("key")
        ? text.matches("(?s).*-----BEGIN [A-Z ]*PRIVATE KEY-----.*")
        : text.contains("-----BEGIN CERTIFICATE-----");
    if (!ok) {
      throw new Processes.Failure(what + "not a PEM " + (kind.equals("key") ? "private key (no -----BEGIN … PRIVATE KEY----- block)"
          : "certificate (no -----BEGIN CERTIFICATE----- block)") + "; " + hint(flag), 2);
    }
  }

  static String hint(String flag) {
    return switch (flag) {
      case "--ca" -> "pass the server's ca.pem (in its --state directory) with --ca FILE";
      case "--key", "--link-key" -> "pass the PEM private key of the certificate with " + flag + " FILE";
      default -> "pass a PEM certificate with " + flag + " FILE";
    };
  }
}
