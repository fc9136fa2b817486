package gns4j.cli;

public final class Main {
    public static void main(String[] args) {
        System.out.println("gns4j");
    }
}
