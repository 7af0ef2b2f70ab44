package dev.funnel.common.gate;

import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * A set of IPv4 and IPv6 address blocks ({@code 192.0.2.0/24}, {@code 2001:db8::/32}, or a bare
 * address meaning {@code /32} or {@code /128}), and the test "is this client address in one of
 * them". Immutable; {@link #parse} never resolves a name (literals only, through Netty's
 * {@link NetUtil}), and refuses a block with host bits set ({@code 10.0.0.1/8}) since that is
 * usually a typo for something else. An IPv4-mapped IPv6 client ({@code ::ffff:192.0.2.7}) is
 * matched as the IPv4 address it carries.
 */
public final class CidrSet {

  private static final CidrSet EMPTY = new CidrSet(List.of());

  /** One block: the network's bytes (4 or 16) and its prefix length. */
  private record Block(byte[] network, int prefix) {

    boolean contains(byte[] address) {
      if (address.length != network.length) {
        return false;
      }
      int whole = prefix / 8;
      for (int i = 0; i < whole; i++) {
        if (address[i] != network[i]) {
          return false;
        }
      }
      int rest = prefix % 8;
      if (rest == 0) {
        return true;
      }
      int mask = (0xff << (8 - rest)) & 0xff;
      return (address[whole] & mask) == (network[whole] & mask);
    }

    @Override
    public String toString() {
      String text = NetUtil.bytesToIpAddress(network);
      return text + "/" + prefix;
    }
  }

  private final List<Block> blocks;

  private CidrSet(List<Block> blocks) {
    this.blocks = List.copyOf(blocks);
  }

  /** The set that holds nothing. */
  public static CidrSet empty() {
    return EMPTY;
  }

  /**
   * Parses a comma-separated list of blocks ({@code "10.0.0.0/8, 2001:db8::/32,192.0.2.7"}).
   * Throws {@link IllegalArgumentException} naming the bad block and what is wrong with it.
   */
  public static CidrSet parse(String commaSeparated) {
    List<String> parts = new ArrayList<>();
    for (String part : commaSeparated.split(",", -1)) {
      parts.add(part.strip());
    }
    return of(parts);
  }

  /** The union of the blocks in each string (each as {@link #parse} takes it). */
  public static CidrSet ofLists(Collection<String> lists) {
    List<Block> all = new ArrayList<>();
    for (String list : lists) {
      all.addAll(parse(list).blocks);
    }
    return new CidrSet(all);
  }

  /** The blocks in {@code texts}, one block per string. */
  public static CidrSet of(Collection<String> texts) {
    List<Block> blocks = new ArrayList<>(texts.size());
    for (String text : texts) {
      blocks.add(block(text));
    }
    return new CidrSet(blocks);
  }

  private static Block block(String text) {
    if (text == null || text.isEmpty()) {
      throw new IllegalArgumentException("empty CIDR block; write e.g. 192.0.2.0/24 or 2001:db8::/32");
    }
    int slash = text.indexOf('/');
    String addressText = slash < 0 ? text : text.substring(0, slash);
    byte[] address = NetUtil.createByteArrayFromIpAddressString(addressText);
    if (address == null || addressText.contains("%") || addressText.startsWith("[")) {
      throw new IllegalArgumentException("bad CIDR block '" + text
          + "': not an IPv4 or IPv6 address (write e.g. 192.0.2.0/24 or 2001:db8::/32)");
    }
    int bits = address.length * 8;
    int prefix = bits;
    if (slash >= 0) {
      String prefixText = text.substring(slash + 1);
      if (prefixText.isEmpty() || prefixText.length() > 3 || !prefixText.chars().allMatch(c -> c >= '0' && c <= '9')) {
        throw new IllegalArgumentException("bad CIDR block '" + text + "': prefix length must be 0.." + bits);
      }
      prefix = Integer.parseInt(prefixText);
      if (prefix > bits) {
        throw new IllegalArgumentException("bad CIDR block '" + text + "': prefix length must be 0.." + bits);
      }
    }
    byte[] v4 = unmapped(address);
    if (v4 != address) {
      // ::ffff:a.b.c.d/p is the IPv4 block a.b.c.d/(p-96): clients are matched unmapped.
      if (prefix < 96) {
        throw new IllegalArgumentException("bad CIDR block '" + text
            + "': an IPv4-mapped block needs a prefix of 96 or more; write the IPv4 block instead");
      }
      address = v4;
      prefix -= 96;
    }
    Block block = new Block(address, prefix);
    byte[] masked = masked(address, prefix);
    if (!Arrays.equals(masked, address)) {
      throw new IllegalArgumentException("bad CIDR block '" + text + "': host bits are set; did you mean "
          + new Block(masked, prefix) + "?");
    }
    return block;
  }

  private static byte[] masked(byte[] address, int prefix) {
    byte[] out = address.clone();
    for (int i = 0; i < out.length; i++) {
      int keep = Math.max(0, Math.min(8, prefix - i * 8));
      out[i] = (byte) (out[i] & ((0xff << (8 - keep)) & 0xff));
    }
    return out;
  }

  /** IPv4-mapped IPv6 ({@code ::ffff:a.b.c.d}) as its 4 IPv4 bytes; anything else unchanged. */
  static byte[] unmapped(byte[] address) {
    if (address.length != 16) {
      return address;
    }
    for (int i = 0; i < 10; i++) {
      if (address[i] != 0) {
        return address;
      }
    }
    if (address[10] != (byte) 0xff || address[11] != (byte) 0xff) {
      return address;
    }
    return Arrays.copyOfRange(address, 12, 16);
  }

  /** True when {@code address} is in one of the blocks; false for {@code null}. */
  public boolean contains(InetAddress address) {
    if (address == null) {
      return false;
    }
    byte[] bytes = unmapped(address.getAddress());
    for (Block block : blocks) {
      if (block.contains(bytes)) {
        return true;
      }
    }
    return false;
  }

  public boolean isEmpty() {
    return blocks.isEmpty();
  }

  /** The blocks, normalised ({@code 2001:db8::/32}, {@code 192.0.2.7/32}), in the order given. */
  public List<String> blocks() {
    return blocks.stream().map(Block::toString).map(s -> s.toLowerCase(Locale.ROOT)).toList();
  }

  @Override
  public String toString() {
    return String.join(",", blocks());
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CidrSet other && other.blocks().equals(blocks());
  }

  @Override
  public int hashCode() {
    return blocks().hashCode();
  }
}
