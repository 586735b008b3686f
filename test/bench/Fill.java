// Fills a topic with realistic records for the benchmarks: JSON-like values of a fixed size built
// from a vocabulary (so they compress like real events do, not like random bytes or one repeated
// string), keys drawn from 100,000 customers, and three headers. Kafka's own Java producer (the
// stack's jars) because it is the fastest client we have on this machine.
// Usage: java -cp '<kafka libs>/*' Fill.java <bootstrap> <topic> <records> <valueBytes> <partitions>
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import java.util.SplittableRandom;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class Fill {
  static final String[] WORDS = ("order shipped payment accepted refund pending customer account card visa checkout basket "
      + "item sku warehouse berlin paris london tokyo express standard discount coupon session mobile web ios android "
      + "retry timeout latency region primary replica invoice tax total currency eur usd gbp quantity price status")
      .split(" ");
  static final String[] EVENTS = {"order.created", "order.paid", "order.shipped", "cart.updated", "user.login", "refund.issued"};

  public static void main(String[] args) throws Exception {
    String servers = args[0], topic = args[1];
    long records = Long.parseLong(args[2]);
    int valueBytes = Integer.parseInt(args[3]);
    int partitions = Integer.parseInt(args[4]);
    Properties p = new Properties();
    p.put("bootstrap.servers", servers);
    p.put("acks", "1");
    p.put("linger.ms", "20");
    p.put("batch.size", "262144");
    p.put("compression.type", "lz4");
    p.put("buffer.memory", "67108864");
    SplittableRandom rnd = new SplittableRandom(42);
    long started = System.nanoTime();
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
      StringBuilder sb = new StringBuilder(valueBytes + 64);
      for (long i = 0; i < records; i++) {
        sb.setLength(0);
        long customer = rnd.nextInt(100_000);
        sb.append("{\"id\":").append(i).append(",\"event\":\"").append(EVENTS[rnd.nextInt(EVENTS.length)])
            .append("\",\"customer\":\"c-").append(customer).append("\",\"ts\":").append(1_764_000_000_000L + i)
            .append(",\"amount\":").append(rnd.nextInt(100_000) / 100.0).append(",\"note\":\"");
        while (sb.length() < valueBytes - 2) sb.append(WORDS[rnd.nextInt(WORDS.length)]).append(' ');
        sb.setLength(valueBytes - 2);
        sb.append("\"}");
        byte[] value = sb.toString().getBytes(StandardCharsets.US_ASCII);
        byte[] key = ("c-" + customer).getBytes(StandardCharsets.US_ASCII);
        ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic, (int) (i % partitions), key, value);
        r.headers().add(new RecordHeader("content-type", "application/json".getBytes(StandardCharsets.US_ASCII)));
        r.headers().add(new RecordHeader("trace-id", Long.toHexString(rnd.nextLong()).getBytes(StandardCharsets.US_ASCII)));
        r.headers().add(new RecordHeader("source", "bench".getBytes(StandardCharsets.US_ASCII)));
        producer.send(r);
      }
      producer.flush();
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    System.out.printf("{\"records\":%d,\"seconds\":%.3f}%n", records, seconds);
  }
}
