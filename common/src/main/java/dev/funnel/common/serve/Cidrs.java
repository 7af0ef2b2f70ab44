package dev.funnel.common.serve;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * CIDR spellings for {@code --allow-cidr} / {@code --deny-cidr}: {@code 10.0.0.0/8},
 * {@code 2001:db8::/32}, or one address ({@code /32} or {@code /128} implied). Pure: never resolves
 * a name (only address literals are accepted).
 */
public final class Cidrs {

  private Cidrs() {
  }

  /** One network: its address bytes (4 or 16) with the host bits zero, and the prefix length. */
  public record Cidr(byte[] network, int prefix) {

    /** True when {@code address} (of the same family) lies in this network. */
    public boolean contains(InetAddress address) {
      byte[] a = address.getAddress();
      if (a.length != network.length) {
        return false;
      }
      int full = prefix / 8;
      for (int i = 0; i < full; i++) {
        if (a[i] != network[i]) {
          return false;
        }
      }
      int bits = prefix % 8;
      if (bits == 0) {
        return true;
      }
      int mask = (0xff << (8 - bits)) & 0xff;
      return (a[full] & mask) == (network[full] & mask);
    }

    @Override
    public String toString() {
      try {
        return InetAddress.getByAddress(network).getHostAddress() + "/" + prefix;
      } catch (UnknownHostException e) {
        throw new IllegalStateException(e);
      }
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Cidr c && c.prefix == prefix && java.util.Arrays.equals(c.network, network);
    }

    @Override
    public int hashCode() {
      return java.util.Arrays.hashCode(network) * 31 + prefix;
    }
  }

  /** Parses one CIDR; IllegalArgumentException says what is wrong (host bits set, bad prefix, not an address). */
  public static Cidr parse(String text) {
    String t = text.trim();
    int slash = t.indexOf('/');
    String addr = slash < 0 ? t : t.substring(0, slash);
    if (addr.isEmpty() || !addr.matches("[0-9A-Fa-f:.]+") || (addr.indexOf(':') < 0 && !addr.matches("\\d+\\.\\d+\\.\\d+\\.\\d+"))) {
      throw new IllegalArgumentException("'" + text + "' is not a CIDR (e.g. 10.0.0.0/8, 2001:db8::/32, 192.0.2.7)");
    }
    byte[] bytes;
    try {
      bytes = InetAddress.getByName(addr).getAddress();   // a literal: no lookup
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("'" + text + "' is not a CIDR (e.g. 10.0.0.0/8, 2001:db8::/32, 192.0.2.7)");
    }
    int max = bytes.length * 8;
    int prefix = max;
    if (slash >= 0) {
      try {
        prefix = Integer.parseInt(t.substring(slash + 1));
      } catch (NumberFormatException e) {
        prefix = -1;
      }
      if (prefix < 0 || prefix > max) {
        throw new IllegalArgumentException("'" + text + "': the prefix length is 0 to " + max);
      }
    }
    Cidr cidr = new Cidr(bytes, prefix);
    byte[] masked = bytes.clone();
    for (int bit = prefix; bit < max; bit++) {
      masked[bit / 8] &= (byte) ~(0x80 >> (bit % 8));
    }
    if (!java.util.Arrays.equals(masked, bytes)) {
      throw new IllegalArgumentException("'" + text + "' has host bits set; did you mean " + new Cidr(masked, prefix) + "?");
    }
    return cidr;
  }

  /** Entries, each one CIDR or a comma-separated list → canonical spellings, in order. */
  public static List<String> parseList(List<String> entries) {
    List<String> out = new ArrayList<>();
    for (String entry : entries) {
      for (String one : entry.split(",")) {
        if (!one.isBlank()) {
          out.add(parse(one).toString());
        }
      }
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException("no CIDR given (e.g. 10.0.0.0/8)");
    }
    return out;
  }
}
