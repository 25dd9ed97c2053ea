package eval

// passAt is the unbiased estimate of pass@k from n samples of which c are
// correct (Chen et al. 2021, "Evaluating Large Language Models Trained on
// Code"): the probability that k samples drawn without replacement from the
// n include a correct one, 1 - C(n-c, k)/C(n, k), computed as a product so
// that it stays exact for large n. k must be in [1, n].
func passAt(n, c, k int) float64 {
	if n-c < k {
		return 1
	}
	miss := 1.0
	for i := n - c + 1; i <= n; i++ {
		miss *= 1 - float64(k)/float64(i)
	}
	return 1 - miss
}

// passAtKs are the k the report estimates pass@k for with K samples per
// example: 1, the powers of two below K, and K.
func passAtKs(K int) []int {
	var ks []int
	for k := 1; k < K; k *= 2 {
		ks = append(ks, k)
	}
	return append(ks, K)
}
