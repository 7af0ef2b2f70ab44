package dev.funnel.dns.push;

import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;
import org.xbill.DNS.Type;

/**
 * One RRset as the pusher compares it: owner {@code name} (lower case, no trailing dot), {@code type},
 * {@code ttl}, and the records' data in presentation format ({@code Record.rdataToString()}), sorted
 * and without duplicates, so two RRsets with the same records are equal whatever order they came in.
 */
public record RRset(String name, int type, long ttl, List<String> data) {

  public RRset {
    data = List.copyOf(new TreeSet<>(data));
  }

  public Key key() {
    return new Key(name, type);
  }

  /** Where an RRset lives: its owner name and type. Ordered by name, then type. */
  public record Key(String name, int type) implements Comparable<Key> {

    private static final Comparator<Key> ORDER = Comparator.comparing(Key::name).thenComparingInt(Key::type);

    @Override
    public int compareTo(Key other) {
      return ORDER.compare(this, other);
    }

    @Override
    public String toString() {
      return name + "/" + Type.string(type);
    }
  }
}
