package dev.funnel.launcher;

import dev.funnel.common.PublicPorts;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.options.ServeTarget;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import picocli.CommandLine;

/** Parsing of the flag values every command shares; errors say what was expected. */
final class Flags {

  private Flags() {
  }

  static final class HostPortConverter implements CommandLine.ITypeConverter<HostPort> {
    @Override
    public HostPort convert(String value) {
      try {
        return HostPort.parse(value);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException(e.getMessage());
      }
    }
  }

  /** {@code 443=127.0.0.1:8443,8443=…} entries → public port → bind address. */
  static Map<Integer, HostPort> publicListeners(List<String> entries) {
    Map<Integer, HostPort> out = new LinkedHashMap<>();
    for (String entry : entries) {
      String[] parts = entry.split("=", 2);
      if (parts.length != 2) {
        throw new IllegalArgumentException("--public takes PORT=HOST:PORT (e.g. 443=127.0.0.1:8443), got '" + entry + "'");
      }
      int port = publicPort(parts[0], "--public " + entry);
      out.put(port, HostPort.parse(parts[1]));
    }
    return out;
  }

  /** {@code PORT=TARGET} entries of {@code --funnel} → public port → target. */
  static Map<Integer, ServeTarget> funnels(List<String> entries) {
    Map<Integer, ServeTarget> out = new LinkedHashMap<>();
    for (String entry : entries) {
      String[] parts = entry.split("=", 2);
      if (parts.length != 2) {
        throw new IllegalArgumentException(
            "--funnel takes PORT=TARGET (e.g. 443=tcp://127.0.0.1:9443 or 443=http://127.0.0.1:3000), got '" + entry + "'");
      }
      int port = publicPort(parts[0], "--funnel " + entry);
      if (out.containsKey(port)) {
        throw new IllegalArgumentException("--funnel names port " + port + " twice");
      }
      try {
        out.put(port, ServeTarget.parse(parts[1]));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("--funnel " + entry + ": " + e.getMessage());
      }
    }
    return out;
  }

  static List<HostPort> servers(String csv) {
    List<HostPort> out = new ArrayList<>();
    for (String s : csv.split(",")) {
      if (!s.isBlank()) {
        out.add(HostPort.parse(s.trim()));
      }
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException("--server needs at least one HOST:PORT");
    }
    return out;
  }

  private static int publicPort(String text, String flag) {
    int port;
    try {
      port = Integer.parseInt(text.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(flag + ": '" + text + "' is not a port");
    }
    if (!PublicPorts.isAllowed(port)) {
      throw new IllegalArgumentException(flag + ": public port " + port + " is not a Funnel port; use one of "
          + PublicPorts.sorted(PublicPorts.ALLOWED).stream().map(String::valueOf).collect(Collectors.joining(", ")));
    }
    return port;
  }

  /** {@code --event-loops}: 0 (one per core) or 1 to 256. */
  static int eventLoops(int n) {
    if (n < 0 || n > 256) {
      throw new IllegalArgumentException("--event-loops is 1 to 256 (or 0: one per core)");
    }
    return n;
  }
}
