package dev.funnel.launcher; public class FunnelCommand { public static void main(String[] a){} }
