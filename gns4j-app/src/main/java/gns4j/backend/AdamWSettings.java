package gns4j.backend;

/** AdamW hyper-parameters except the learning rate, which the schedule gives per step. */
public record AdamWSettings(double beta1, double beta2, double eps, double weightDecay) {}
