import OrchestratorEngine
import Testing

@Suite("Latency histograms")
struct LatencyHistogramTests {
    @Test("percentiles are read to the upper edge of a 0.1 ms bucket, never beyond the largest duration")
    func percentiles() {
        var histogram = LatencyHistogram()
        #expect(histogram.percentile(0.5) == nil)
        #expect(histogram.description == "none")
        // 1.00, 1.01, …, 1.99 ms, then one of 250 ms (past the last bucket).
        for step in 0..<100 { histogram.record(.microseconds(1_000 + step * 10)) }
        histogram.record(.milliseconds(250))
        #expect(histogram.count == 101)
        #expect(histogram.percentile(0.01) == 1.1)
        #expect(histogram.percentile(0.5) == 1.6)
        #expect(histogram.percentile(0.9) == 2.0)
        #expect(histogram.percentile(0.99) == 2.0)
        #expect(histogram.percentile(1) == 250)
        #expect(histogram.maximumMicroseconds == 250_000)
        let mean = (Double((0..<100).map { 1_000 + $0 * 10 }.reduce(0, +)) + 250_000) / 101 / 1000
        #expect(abs(histogram.meanMilliseconds! - mean) < 0.001)

        var one = LatencyHistogram()
        one.record(.microseconds(1_234))
        #expect(one.percentile(0.5) == 1.234)
        #expect(one.description == "n=1 mean=1.23ms p50=1.23 p90=1.23 p99=1.23 max=1.23")
    }

    @Test("durations under a bucket and negative ones count in the first bucket")
    func smallDurations() {
        var histogram = LatencyHistogram()
        histogram.record(.nanoseconds(10))
        histogram.record(.zero - .microseconds(5))
        #expect(histogram.count == 2)
        #expect(histogram.percentile(1) == 0.0)
        #expect(histogram.maximumMicroseconds == 0)
    }
}
